"""The review room: a FastAPI app over one project (``posthouse serve``).

Routes stay thin: they check the session, role and CSRF token, then call :class:`ReviewStore`,
:mod:`posthouse.web.notes`, :mod:`posthouse.web.media` and :mod:`posthouse.web.pages`.

Access: a user session (reviewer, accountant, editor, supervisor, admin) sees the whole project; a share-link
session sees one cut version and may post notes on it, nothing else.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final
from urllib.parse import quote

from fastapi import FastAPI, HTTPException
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from posthouse.core.errors import MediaError, PosthouseError, UsageError
from posthouse.core.project import Project
from posthouse.picture.cuts import CutError, CutRef, CutStore
from posthouse.web.auth import new_token, role_at_least
from posthouse.web.csrf import CSRF_COOKIE, CsrfError, check_csrf
from posthouse.web.media import (
    dailies_items,
    find_review_render,
    movie_offset,
    range_response,
    render_review,
    resolve_under,
    safe_id,
)
from posthouse.web.notes import CutInfo, cue_list, cut_info, notes_path, write_notes_otio
from posthouse.web.pages import STAGE_FOLDERS, dashboard, qc_reports, stage_files, supervision
from posthouse.web.store import Note, ReviewStore, SessionInfo

__all__ = ["SESSION_COOKIE", "ReviewRoom", "create_app"]

SESSION_COOKIE: Final = "ph_session"
MAX_FAILURES: Final = 5
FAILURE_WINDOW_S: Final = 300.0
HERE: Final = Path(__file__).parent
CSP: Final = (
    "default-src 'self'; img-src 'self' data:; media-src 'self'; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)


class NoteIn(BaseModel):
    """A new note: record frame (0 = first frame of the cut), optional duration, text and drawing."""

    frame: int = Field(ge=0)
    duration: int = Field(default=0, ge=0)
    text: str = Field(min_length=1, max_length=10_000)
    author: str | None = Field(default=None, max_length=128)
    drawing: list[list[list[float]]] | None = None


class NoteUpdate(BaseModel):
    """A change to a note: status (open, addressed) and/or cue kind (adr, music, vfx; "" clears)."""

    status: str | None = None
    cue: str | None = None


class ShareIn(BaseModel):
    """A share link request for one cut version."""

    cut: str
    version: int = Field(ge=1)
    hours: float = Field(default=48.0, gt=0, le=24 * 365)


@dataclass
class ReviewRoom:
    """The app's state: the project, its review store and cut store, caches and render jobs."""

    project: Project
    store: ReviewStore
    cuts: CutStore
    public_url: str | None = None
    _infos: dict[tuple[str, int], CutInfo] = field(default_factory=dict)
    _locks: dict[tuple[str, int], threading.Lock] = field(default_factory=dict)
    _guard: threading.Lock = field(default_factory=threading.Lock)
    renders: dict[tuple[str, int], dict[str, Any]] = field(default_factory=dict)
    _offsets: dict[tuple[str, int], int] = field(default_factory=dict)
    _failures: dict[str, list[float]] = field(default_factory=dict)

    @property
    def root(self) -> Path:
        return self.project.root

    def info(self, name: str, version: int) -> CutInfo:
        """The (cached: versions are immutable) shape of a cut version; 404 when it does not exist."""
        key = (name, version)
        with self._guard:
            cached = self._infos.get(key)
        if cached is not None:
            return cached
        try:
            info = cut_info(self.cuts, CutRef(name, version), default_drop=self.project.config.drop_frame)
        except CutError as exc:
            raise HTTPException(404, f"cut {name}@v{version:03d} not found") from exc
        with self._guard:
            self._infos[key] = info
        return info

    def lock(self, name: str, version: int) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault((name, version), threading.Lock())

    def sync_markers(self, name: str, version: int) -> Path:
        """Rewrite ``vNNN.notes.otio`` from the catalog (serialised per cut version; read after commit, so
        the last writer always includes every note)."""
        with self.lock(name, version):
            return write_notes_otio(self.cuts, CutRef(name, version), self.store.notes(name, version))

    def review_media(self, name: str, version: int) -> tuple[Path, int] | None:
        """The review movie of a cut version and its frames before the cut's first frame (cached by the
        file's modification time)."""
        found = find_review_render(self.root, self.cuts, CutRef(name, version))
        if found is None:
            return None
        key = (str(found), found.stat().st_mtime_ns)
        with self._guard:
            offset = self._offsets.get(key)
        if offset is None:
            info = self.info(name, version)
            offset = movie_offset(found, info.start, info.rate)
            with self._guard:
                self._offsets[key] = offset
        return found, offset

    def throttled(self, name: str) -> bool:
        """Whether ``name`` had :data:`MAX_FAILURES` failed logins within :data:`FAILURE_WINDOW_S`."""
        now = time.monotonic()
        with self._guard:
            recent = [t for t in self._failures.get(name.lower(), []) if now - t < FAILURE_WINDOW_S]
            self._failures[name.lower()] = recent
            return len(recent) >= MAX_FAILURES

    def failed_login(self, name: str) -> None:
        with self._guard:
            self._failures.setdefault(name.lower(), []).append(time.monotonic())

    def share_url(self, token: str, base: str) -> str:
        return f"{(self.public_url or base).rstrip('/')}/s/{token}"


# --------------------------------------------------------------------------------------------- helpers


def _room(request: Request) -> ReviewRoom:
    room: ReviewRoom = request.app.state.room
    return room


def _session(request: Request) -> SessionInfo | None:
    if "session_info" in request.scope.setdefault("state", {}):
        cached: SessionInfo | None = request.state.session_info
        return cached
    info = _room(request).store.session(request.cookies.get(SESSION_COOKIE))
    request.state.session_info = info
    return info


def _need(request: Request, role: str = "reviewer", cut: tuple[str, int] | None = None) -> SessionInfo:
    """The session, when it may do this: 401 without one, 403 when its role or share link forbids it."""
    sess = _session(request)
    if sess is None:
        raise HTTPException(401, "log in first")
    if sess.share is not None:
        if cut is None or role != "reviewer" or (sess.share.cut, sess.share.version) != cut:
            raise HTTPException(403, "this share link opens one cut version only")
        return sess
    if not role_at_least(sess.role, role):
        raise HTTPException(403, f"needs the {role} role")
    return sess


async def _csrf(request: Request, sess: SessionInfo) -> None:
    try:
        await check_csrf(request, sess.csrf)
    except CsrfError as exc:
        raise HTTPException(403, str(exc)) from exc


def _cut_key(name: str, version: int) -> tuple[str, int]:
    try:
        CutRef(name, version)
    except CutError as exc:
        raise HTTPException(404, "no such cut") from exc
    return name, version


def _wants_html(request: Request) -> bool:
    return not request.url.path.startswith(("/api/", "/media/")) and "text/html" in request.headers.get(
        "accept", ""
    )


def _set_cookie(response: Response, request: Request, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )


def _note_json(info: CutInfo, note: Note) -> dict[str, Any]:
    return {
        **note.to_dict(),
        "tc": info.timecode(note.frame),
        "tc_out": info.timecode(note.frame + note.duration) if note.duration else None,
    }


# ------------------------------------------------------------------------------------------------ app


def create_app(project: str | Path | Project, *, public_url: str | None = None) -> FastAPI:
    """The review room over one project (a folder or an opened :class:`Project`).

    ``public_url`` is the address share links are built on (default: the address of the request).
    """
    proj = project if isinstance(project, Project) else Project.open(project)
    room = ReviewRoom(proj, ReviewStore(proj.catalog), CutStore(proj.root / "cuts"), public_url)
    app = FastAPI(title=f"posthouse review room — {proj.config.name}", docs_url=None, redoc_url=None)
    app.state.room = room
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    def page(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        sess = _session(request)
        context.setdefault("csrf", sess.csrf if sess else request.cookies.get(CSRF_COOKIE, ""))
        context.update(project=proj.config.name, session=sess)
        return templates.TemplateResponse(request, name, context, status_code=status)

    @app.middleware("http")
    async def security_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["X-Frame-Options"] = "DENY"
        return response

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        if exc.status_code == 401 and _wants_html(request):
            return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)
        if _wants_html(request):
            return page(request, "error.html", exc.status_code, code=exc.status_code, message=exc.detail)
        return JSONResponse({"error": exc.detail}, status_code=exc.status_code)

    @app.exception_handler(PosthouseError)
    async def posthouse_error(request: Request, exc: PosthouseError) -> Response:
        code = 400 if isinstance(exc, UsageError) else 404 if isinstance(exc, MediaError | CutError) else 500
        if _wants_html(request):
            return page(request, "error.html", code, code=code, message=str(exc))
        return JSONResponse({"error": str(exc)}, status_code=code)

    # ------------------------------------------------------------------------------------ sessions

    @app.get("/login")
    def login_page(request: Request, next: str = "/") -> Response:
        token = request.cookies.get(CSRF_COOKIE) or new_token(24)
        response = page(request, "login.html", next=next, error=None, csrf=token)
        _set_cookie(response, request, CSRF_COOKIE, token, 3600)
        return response

    @app.post("/login")
    async def login(request: Request) -> Response:
        try:
            await check_csrf(request, request.cookies.get(CSRF_COOKIE))
        except CsrfError as exc:
            raise HTTPException(403, str(exc)) from exc
        form = await request.form()
        name, password = str(form.get("name", "")), str(form.get("password", ""))
        target = str(form.get("next") or "/")
        if not target.startswith("/") or target.startswith("//") or "\\" in target:
            target = "/"  # never an open redirect to another site
        if room.throttled(name):
            return page(
                request, "login.html", 429, next=target, error="Too many failed logins: wait a few minutes."
            )
        user = await run_in_threadpool(room.store.authenticate, name, password)
        if user is None:
            room.failed_login(name)
            return page(request, "login.html", 401, next=target, error="Wrong name or password.")
        token, _ = await run_in_threadpool(lambda: room.store.open_session(user=user))
        response = RedirectResponse(target, status_code=303)
        _set_cookie(response, request, SESSION_COOKIE, token, 12 * 3600)
        response.delete_cookie(CSRF_COOKIE, path="/")
        return response

    @app.post("/logout")
    async def logout(request: Request) -> Response:
        sess = _session(request)
        if sess is not None:
            await _csrf(request, sess)
            room.store.close_session(request.cookies.get(SESSION_COOKIE))
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    @app.get("/s/{token}")
    def share_landing(request: Request, token: str) -> Response:
        share = room.store.share(token)
        if share is None:
            raise HTTPException(404, "This share link is not known.")
        if share.expired:
            raise HTTPException(410, "This share link has expired. Ask the editor for a new one.")
        room.info(share.cut, share.version)
        session_token, sess = room.store.open_session(share=share)
        request.state.session_info = sess
        response = RedirectResponse(f"/cuts/{quote(share.cut)}/v{share.version}", status_code=303)
        max_age = int((sess.expires - datetime.now(UTC)).total_seconds())
        _set_cookie(response, request, SESSION_COOKIE, session_token, max(max_age, 60))
        return response

    # ------------------------------------------------------------------------------------ pages

    @app.get("/", response_class=HTMLResponse)
    def home(request: Request) -> Response:
        sess = _session(request)
        if sess is not None and sess.share is not None:
            return RedirectResponse(f"/cuts/{quote(sess.share.cut)}/v{sess.share.version}", status_code=303)
        sess = _need(request)
        stages = dashboard(proj)
        plan = supervision(proj, sess.role)
        return page(request, "dashboard.html", stages=stages, root=str(proj.root), **plan)

    @app.get("/cuts/{name}/v{version}", response_class=HTMLResponse)
    def review_page(request: Request, name: str, version: int) -> Response:
        key = _cut_key(name, version)
        sess = _need(request, cut=key)
        info = room.info(*key)
        versions = [] if sess.share else [r.version for r in room.cuts.versions(name)]
        return page(
            request,
            "review.html",
            info=info,
            versions=versions,
            can_edit=role_at_least(sess.role, "editor") and not sess.share,
        )

    @app.get("/compare/{name}", response_class=HTMLResponse)
    def compare_page(request: Request, name: str, a: int, b: int) -> Response:
        _need(request)
        from posthouse.picture.diff import diff_cuts

        ia, ib = room.info(*_cut_key(name, a)), room.info(*_cut_key(name, b))
        changes = diff_cuts(
            room.cuts.open(CutRef(name, a)),
            room.cuts.open(CutRef(name, b)),
            old_name=ia.ref,
            new_name=ib.ref,
            drop=ib.drop,
        )
        media = {v: room.review_media(name, v) for v in (a, b)}
        return page(request, "compare.html", a=ia, b=ib, changes=changes.changes, media=media)

    @app.get("/dailies", response_class=HTMLResponse)
    def dailies_page(request: Request, by: str = "scene") -> Response:
        _need(request)
        from posthouse.picture.bins import make_bins

        if by not in ("scene", "day", "camera", "reel"):
            by = "scene"
        items = {d.clip: d for d in dailies_items(proj.root) if d.clip}
        bins = {k: [r for r in v if r.kind == "video"] for k, v in make_bins(proj.catalog, by=by).items()}
        bins = {k: v for k, v in bins.items() if v}
        return page(request, "dailies.html", bins=bins, items=items, loose=list(items.values()), by=by)

    @app.get("/dailies/report", response_class=HTMLResponse)
    def dailies_report(request: Request) -> Response:
        _need(request)
        return page(request, "dailies_report.html", items=dailies_items(proj.root))

    @app.get("/qc", response_class=HTMLResponse)
    def qc_page(request: Request) -> Response:
        _need(request)
        return page(request, "qc.html", reports=qc_reports(proj.root))

    @app.get("/stage/{stage}", response_class=HTMLResponse)
    def stage_page(request: Request, stage: str) -> Response:
        _need(request)
        if stage not in STAGE_FOLDERS:
            raise HTTPException(404, "no such stage")
        return page(request, "stage.html", stage=stage, files=stage_files(proj.root, stage))

    # ------------------------------------------------------------------------------------ media

    @app.api_route("/media/review/{name}/{version}", methods=["GET", "HEAD"])
    def media_review(request: Request, name: str, version: int) -> Response:
        key = _cut_key(name, version)
        _need(request, cut=key)
        room.info(*key)
        media = room.review_media(*key)
        if media is None:
            raise HTTPException(404, "this cut version has no review render yet")
        return range_response(request, media[0], "video/mp4")

    def _dailies_file(item_id: str, what: str) -> Path:
        item_id = safe_id(item_id)
        for item in dailies_items(proj.root):
            if item.id == item_id:
                path = item.review if what == "review" else item.thumbnail
                if path is not None:
                    return resolve_under(proj.root, path)
        raise HTTPException(404, "no such dailies media")

    @app.api_route("/media/dailies/{item_id}", methods=["GET", "HEAD"])
    def media_dailies(request: Request, item_id: str) -> Response:
        _need(request)
        return range_response(request, _dailies_file(item_id, "review"))

    @app.get("/media/thumb/{item_id}")
    def media_thumb(request: Request, item_id: str) -> Response:
        _need(request)
        return range_response(request, _dailies_file(item_id, "thumbnail"))

    @app.get("/media/qc/{report_id}")
    def media_qc(request: Request, report_id: str) -> Response:
        _need(request)
        report_id = safe_id(report_id)
        for rep in qc_reports(proj.root):
            if rep["id"] == report_id and rep["html"]:
                path = resolve_under(proj.root, rep["file"].removesuffix(".json") + ".html")
                response = range_response(request, path, "text/html; charset=utf-8")
                response.headers["Content-Security-Policy"] = (
                    "default-src 'none'; img-src data:; style-src 'unsafe-inline'; frame-ancestors 'none'"
                )
                return response
        raise HTTPException(404, "no such QC report")

    # ------------------------------------------------------------------------------------ API

    @app.get("/api/session")
    def api_session(request: Request) -> dict[str, Any]:
        sess = _session(request)
        if sess is None:
            raise HTTPException(401, "log in first")
        share = {"cut": sess.share.cut, "version": sess.share.version} if sess.share else None
        return {"name": sess.name, "role": sess.role, "csrf": sess.csrf, "share": share}

    @app.get("/api/cuts")
    def api_cuts(request: Request) -> list[dict[str, Any]]:
        _need(request)
        return [
            {"name": n, "versions": [r.version for r in room.cuts.versions(n)]} for n in room.cuts.names()
        ]

    @app.get("/api/cuts/{name}/{version}")
    def api_cut(request: Request, name: str, version: int) -> dict[str, Any]:
        key = _cut_key(name, version)
        _need(request, cut=key)
        info = room.info(*key)
        media = room.review_media(*key)
        return {
            **info.to_dict(),
            "media": f"/media/review/{quote(name)}/{version}" if media else None,
            "offset": media[1] if media else 0,
            "render": room.renders.get(key, {"state": "done" if media else "none"}),
            "notes": [_note_json(info, n) for n in room.store.notes(*key)],
        }

    @app.get("/api/cuts/{name}/{version}/notes")
    def api_notes(request: Request, name: str, version: int) -> list[dict[str, Any]]:
        key = _cut_key(name, version)
        _need(request, cut=key)
        info = room.info(*key)
        return [_note_json(info, n) for n in room.store.notes(*key)]

    @app.post("/api/cuts/{name}/{version}/notes", status_code=201)
    async def api_add_note(request: Request, name: str, version: int, body: NoteIn) -> dict[str, Any]:
        key = _cut_key(name, version)
        sess = _need(request, cut=key)
        await _csrf(request, sess)
        author = sess.user.name if sess.user else ((body.author or "").strip() or "guest")

        def add() -> dict[str, Any]:
            info = room.info(*key)
            note = room.store.add_note(
                *key,
                frame=body.frame,
                duration=body.duration,
                text=body.text,
                author=author,
                drawing=body.drawing,
                length=info.frames,
            )
            room.sync_markers(*key)
            return _note_json(info, note)

        return await run_in_threadpool(add)

    @app.post("/api/notes/{note_id}")
    async def api_update_note(request: Request, note_id: int, body: NoteUpdate) -> dict[str, Any]:
        sess = _need(request, "editor")
        await _csrf(request, sess)

        def update() -> dict[str, Any]:
            note = room.store.update_note(note_id, status=body.status, cue=body.cue)
            room.sync_markers(note.cut, note.version)
            return _note_json(room.info(note.cut, note.version), note)

        return await run_in_threadpool(update)

    @app.get("/api/cuts/{name}/{version}/cues")
    def api_cues(request: Request, name: str, version: int) -> dict[str, Any]:
        key = _cut_key(name, version)
        _need(request, cut=key)
        info = room.info(*key)
        return {
            "cut": info.ref,
            "markers_file": notes_path(room.cuts, CutRef(*key)).relative_to(proj.root).as_posix(),
            "cues": cue_list(info, room.store.notes(*key)),
        }

    @app.post("/api/cuts/{name}/{version}/render", status_code=202)
    async def api_render(request: Request, name: str, version: int) -> dict[str, Any]:
        key = _cut_key(name, version)
        sess = _need(request, "editor")
        await _csrf(request, sess)
        room.info(*key)
        with room._guard:
            job = room.renders.get(key)
            if job and job["state"] == "running":
                return job
            job = {"state": "running", "error": None}
            room.renders[key] = job

        def work() -> None:
            try:
                render_review(room.cuts, CutRef(*key))
                job["state"] = "done"
            except Exception as exc:  # reported to the page, the server goes on
                job["state"], job["error"] = "failed", str(exc)

        threading.Thread(target=work, name=f"render {name}@v{version}", daemon=True).start()
        return job

    @app.post("/api/shares", status_code=201)
    async def api_share(request: Request, body: ShareIn) -> dict[str, Any]:
        sess = _need(request, "editor")
        await _csrf(request, sess)
        room.info(*_cut_key(body.cut, body.version))
        token, share = room.store.create_share(body.cut, body.version, hours=body.hours, created_by=sess.name)
        return {"url": room.share_url(token, str(request.base_url)), "expires": share.expires.isoformat()}

    return app
