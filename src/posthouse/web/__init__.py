"""posthouse.web — the review room (`posthouse serve`): a FastAPI app over one project where the director
watches cuts and dailies and leaves frame-accurate notes. See ``docs/review-room.md``.

Modules: :mod:`~posthouse.web.app` (``create_app``), :mod:`~posthouse.web.store` (users, sessions, share
links, notes in the catalog), :mod:`~posthouse.web.notes` (notes → markers and cues),
:mod:`~posthouse.web.media` (safe media ids, HTTP ranges, review renders), :mod:`~posthouse.web.auth`,
:mod:`~posthouse.web.csrf`, :mod:`~posthouse.web.pages`. Nothing is imported here, so ``import posthouse``
stays light.
"""
