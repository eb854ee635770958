"""Shared fixtures: media is made on the fly, tiny and fast."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from posthouse.core.media import VideoWriter


def make_movie(
    path: Path,
    *,
    frames: int = 12,
    size: tuple[int, int] = (160, 90),
    rate: Fraction = Fraction(24),
    preset: str = "prores-422",
    timecode: str | None = "01:00:00:00",
    reel: str | None = "A001",
    audio_channels: int = 1,
    metadata: dict[str, str] | None = None,
) -> Path:
    """A short movie whose frame i is filled with grey level 10*i and a 1 kHz tone."""
    w, h = size
    with VideoWriter(
        path,
        width=w,
        height=h,
        rate=rate,
        preset=preset,
        start_timecode=timecode,
        reel=reel,
        audio_channels=audio_channels,
        metadata=metadata,
    ) as vw:
        per_frame = int(48000 / rate)
        for i in range(frames):
            vw.write_frame(np.full((h, w, 3), (10 * i) % 256, np.uint8))
            if audio_channels:
                t = (np.arange(per_frame) + i * per_frame) / 48000
                tone = (0.25 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32)
                vw.write_audio(np.tile(tone, (audio_channels, 1)))
    return path


@pytest.fixture
def movie(tmp_path: Path) -> Path:
    return make_movie(tmp_path / "A001C001.mov")


@pytest.fixture
def movie_factory(tmp_path: Path):  # type: ignore[no-untyped-def]
    """``movie_factory(name, **kw)`` writes a movie into the test's folder (see :func:`make_movie`)."""

    def factory(name: str, **kw: object) -> Path:
        return make_movie(tmp_path / name, **kw)  # type: ignore[arg-type]

    return factory


@pytest.fixture(params=["sqlite", "postgresql"])
def catalog_url(request: pytest.FixtureRequest, tmp_path: Path) -> object:
    """A fresh, empty catalog database URL: SQLite always; PostgreSQL when ``POSTHOUSE_TEST_PG_URL`` is set.

    ``POSTHOUSE_TEST_PG_URL`` names a server and a role allowed to create databases (``.ci/run`` starts
    one), e.g. ``postgresql+psycopg://posthouse:posthouse@127.0.0.1:5432/postgres``; each test gets its own
    database, dropped afterwards.
    """
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'catalog.db'}"
        return
    import os
    import uuid

    base = os.environ.get("POSTHOUSE_TEST_PG_URL")
    if not base:
        pytest.skip("POSTHOUSE_TEST_PG_URL is not set (no PostgreSQL server for this run)")
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"posthouse_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        # other engines on the test database must be gone before it can be dropped
        with admin.connect() as conn:
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = :n AND pid <> pg_backend_pid()"
                ),
                {"n": name},
            )
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()
