"""Review room fixtures: a tiny project with two versions of a cut and a review render, and a real uvicorn
server on loopback in a thread."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import numpy as np
import opentimelineio as otio
import pytest
from web_helpers import LiveServer

from posthouse.core.media import VideoWriter
from posthouse.core.project import Project
from posthouse.picture.cuts import CutStore
from posthouse.web.app import create_app
from posthouse.web.media import render_review, review_render_path

FPS = 24
HOUR = 86_400  # 01:00:00:00 at 24 fps
CUT_FRAMES = 48
EDITOR = ("edith", "cutting-room-1")
REVIEWER = ("rita", "watching-room-1")
ADMIN = ("ada", "admin-room-01")


def make_movie(path: Path, frames: int = 60, size: tuple[int, int] = (160, 90)) -> Path:
    """An H.264 movie from 01:00:00:00 whose frame i is grey level 4*i."""
    w, h = size
    with VideoWriter(
        path, width=w, height=h, rate=Fraction(FPS), preset="h264-mov", start_timecode="01:00:00:00"
    ) as vw:
        for i in range(frames):
            vw.write_frame(np.full((h, w, 3), (4 * i) % 256, np.uint8))
    return path


def _rt(frames: int) -> otio.opentime.RationalTime:
    return otio.opentime.RationalTime(frames, FPS)


def _clip(name: str, movie: Path, src: int, dur: int) -> otio.schema.Clip:
    ref = otio.schema.ExternalReference(
        target_url=movie.resolve().as_uri(),
        available_range=otio.opentime.TimeRange(_rt(HOUR), _rt(60)),
    )
    return otio.schema.Clip(
        name=name, media_reference=ref, source_range=otio.opentime.TimeRange(_rt(HOUR + src), _rt(dur))
    )


def make_cut(movie: Path, *, second: int = 24) -> otio.schema.Timeline:
    """Two shots from one movie on V1 (24 + ``second`` frames) and a marker at frame 30."""
    tl = otio.schema.Timeline(name="reel1")
    tl.global_start_time = _rt(HOUR)
    v1 = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    v1.append(_clip("A001C001", movie, 0, 24))
    v1.append(_clip("A001C002", movie, 30, second))
    tl.tracks.append(v1)
    tl.tracks.markers.append(
        otio.schema.Marker(
            name="temp music",
            marked_range=otio.opentime.TimeRange(_rt(30), _rt(0)),
            color=otio.schema.MarkerColor.BLUE,
        )
    )
    return tl


@pytest.fixture(scope="session")
def template_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Built once per session: the media, cut ``reel1`` v1 (48 frames) and v2 (a trim), v1's review render."""
    root = tmp_path_factory.mktemp("template") / "film"
    Project.init(root, fps="24", resolution="160x90", name="film")
    (root / "media").mkdir()
    movie = make_movie(root / "media" / "A001C001.mov")
    store = CutStore(root / "cuts")
    store.save("reel1", make_cut(movie), message="first assembly", author="edith")
    store.save("reel1", make_cut(movie, second=20), message="trim", author="edith")
    render_review(store, "reel1@v1")
    return root


def copy_project(template: Path, root: Path, catalog_url: str | None) -> Project:
    """A fresh project at ``root`` on ``catalog_url`` holding the template's media, cuts and render."""
    project = Project.init(root, fps="24", resolution="160x90", name=root.name, catalog_url=catalog_url)
    for folder in ("media", "cuts"):
        shutil.copytree(template / folder, root / folder, dirs_exist_ok=True, symlinks=True)
    return project


@pytest.fixture(scope="session")
def account_hashes() -> dict[str, tuple[str, str]]:
    """argon2 hashes of the three test accounts, made once (hashing is slow on purpose)."""
    from posthouse.web.auth import hash_password

    return {
        name: (hash_password(pw), role)
        for (name, pw), role in ((EDITOR, "editor"), (REVIEWER, "reviewer"), (ADMIN, "admin"))
    }


@pytest.fixture
def review_project(
    template_project: Path, tmp_path: Path, catalog_url: str, account_hashes: dict[str, tuple[str, str]]
) -> Project:
    """The template copied onto this test's catalog (SQLite or PostgreSQL) with three accounts."""
    from posthouse.web.models import UserRecord

    project = copy_project(template_project, tmp_path / "film", catalog_url)
    with project.catalog.session() as s:
        for name, (digest, role) in account_hashes.items():
            s.add(UserRecord(name=name, password_hash=digest, role=role))
    assert review_render_path(CutStore(project.root / "cuts"), "reel1@v1").is_file()
    return project


@pytest.fixture
def live_server(review_project: Project) -> Iterator[LiveServer]:
    with LiveServer(create_app(review_project)) as server:
        yield server
