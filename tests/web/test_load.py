"""Load on loopback: 200 concurrent note posts against a real uvicorn server; none lost, none duplicated."""

from __future__ import annotations

import asyncio
import time

import httpx
import opentimelineio as otio
import pytest
from sqlalchemy import func, select
from web_helpers import LiveServer, login

from posthouse.core.project import Project
from posthouse.web.models import NoteRecord

EDITOR = ("edith", "cutting-room-1")
POSTS = 200


@pytest.mark.slow
def test_200_concurrent_note_posts(review_project: Project, live_server: LiveServer) -> None:
    with httpx.Client(base_url=live_server.url) as c:
        token = login(c, *EDITOR)
        cookies = dict(c.cookies)

    async def run() -> list[httpx.Response]:
        limits = httpx.Limits(max_connections=POSTS, max_keepalive_connections=POSTS)
        async with httpx.AsyncClient(
            base_url=live_server.url, cookies=cookies, limits=limits, timeout=120
        ) as ac:
            return await asyncio.gather(
                *(
                    ac.post(
                        "/api/cuts/reel1/1/notes",
                        json={"frame": i % 48, "text": f"load note {i}"},
                        headers={"X-CSRF-Token": token},
                    )
                    for i in range(POSTS)
                )
            )

    t0 = time.perf_counter()
    responses = asyncio.run(run())
    elapsed = time.perf_counter() - t0
    print(f"{POSTS} concurrent note posts in {elapsed:.2f} s ({POSTS / elapsed:.0f}/s)")
    assert [r.status_code for r in responses] == [201] * POSTS, {r.status_code for r in responses}
    ids = [r.json()["id"] for r in responses]
    assert len(set(ids)) == POSTS
    with review_project.catalog.session() as s:
        assert s.scalar(select(func.count()).select_from(NoteRecord)) == POSTS
        texts = sorted(s.scalars(select(NoteRecord.text)))
    assert texts == sorted(f"load note {i}" for i in range(POSTS))
    # the markers file holds every note once
    tl = otio.adapters.read_from_file(str(review_project.root / "cuts" / "reel1" / "v001.notes.otio"))
    marker_ids = [
        m.metadata["posthouse"]["note"]["id"] for m in tl.tracks.markers if m.name.startswith("NOTE")
    ]
    assert sorted(marker_ids) == sorted(ids)
