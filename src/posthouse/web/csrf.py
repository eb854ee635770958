"""CSRF protection: every state-changing request (POST, PUT, PATCH, DELETE) carries a token.

A session's token is stored with the session; forms send it as ``csrf_token`` and ``fetch`` calls as the
``X-CSRF-Token`` header. Before login (the login form) the token is a random cookie the form must echo
(double submit). Comparisons are constant-time.
"""

from __future__ import annotations

from typing import Final

from starlette.requests import Request

from posthouse.web.auth import tokens_equal

__all__ = ["CSRF_COOKIE", "CSRF_FIELD", "CSRF_HEADER", "UNSAFE_METHODS", "CsrfError", "check_csrf"]

CSRF_FIELD: Final = "csrf_token"
CSRF_HEADER: Final = "x-csrf-token"
CSRF_COOKIE: Final = "ph_csrf"
UNSAFE_METHODS: Final = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class CsrfError(Exception):
    """The request's CSRF token is missing or wrong (answered with 403)."""


async def check_csrf(request: Request, expected: str | None) -> None:
    """Raise :class:`CsrfError` unless a state-changing ``request`` carries ``expected`` (the session's
    token, or for anonymous forms the ``ph_csrf`` cookie) in the header or the form field."""
    if request.method not in UNSAFE_METHODS:
        return
    if not expected:
        raise CsrfError("no CSRF token for this session")
    sent = request.headers.get(CSRF_HEADER)
    if not sent:
        kind = request.headers.get("content-type", "")
        if kind.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get(CSRF_FIELD)
            sent = value if isinstance(value, str) else None
    if not sent or not tokens_equal(sent, expected):
        raise CsrfError("missing or wrong CSRF token")
