"""The review room's pages: dashboard, dailies browser and report, QC view, stage folders, render jobs."""

from __future__ import annotations

import json
import time
from fractions import Fraction

from fastapi.testclient import TestClient
from web_helpers import login

from posthouse.core.catalog import MediaRecord
from posthouse.core.project import Project
from posthouse.web.app import create_app

EDITOR = ("edith", "cutting-room-1")


def add_dailies(project: Project) -> None:
    root = project.root
    (root / "dailies").mkdir(exist_ok=True)
    review = root / "dailies" / "1A-2_A001C002.mp4"
    review.write_bytes((root / "cuts" / "reel1" / "v001.review.mp4").read_bytes())
    (root / "dailies" / "1A-2_A001C002.jpg").write_bytes(b"\xff\xd8\xff\xe0fake-jpeg")
    (root / "dailies" / "1A-2_A001C002.dailies.json").write_text(
        json.dumps(
            {
                "output": {
                    "take": "1A-2",
                    "clip": "A001C002",
                    "review": str(review),
                    "thumbnail": str(root / "dailies" / "1A-2_A001C002.jpg"),
                    "frames": 60,
                    "sound_source": "production",
                    "warnings": ["scratch track used for 2 frames"],
                    "error": None,
                }
            }
        )
    )
    with project.catalog.session() as s:
        for clip, scene, take in (("A001C002", "1A", "2"), ("A001C003", "2B", "1")):
            s.add(
                MediaRecord(
                    path=f"media/{clip}.mov",
                    kind="video",
                    role="picture",
                    size=1,
                    mtime_ns=0,
                    clip=clip,
                    scene=scene,
                    take=take,
                    camera="A",
                    reel="A001",
                    start_timecode="01:00:00:00",
                )
            )
        s.add(MediaRecord(path="media/sound.wav", kind="audio", role="sound", size=1, mtime_ns=0, scene="1A"))


def test_dashboard_dailies_and_report(review_project: Project) -> None:
    add_dailies(review_project)
    client = TestClient(create_app(review_project))
    login(client, *EDITOR)
    page = client.get("/").text
    for stage in (
        "dailies",
        "synced",
        "cuts",
        "lock",
        "turnovers",
        "sound",
        "score",
        "conform",
        "qc",
        "deliver",
    ):
        assert f'data-stage="{stage}"' in page, stage
    assert 'href="/cuts/reel1/v2"' in page and "1 cuts, 2 versions" in page
    assert "2 picture and 1 sound files catalogued; 1 takes rendered as dailies" in page

    page = client.get("/dailies").text
    assert 'data-bin="1A"' in page and 'data-bin="2B"' in page
    assert 'src="/media/dailies/1A-2_A001C002"' in page and 'poster="/media/thumb/1A-2_A001C002"' in page
    assert "sound.wav" not in page  # picture takes only
    assert client.get("/dailies?by=camera").status_code == 200
    r = client.get("/media/dailies/1A-2_A001C002", headers={"Range": "bytes=0-15"})
    assert r.status_code == 206 and r.headers["content-type"] == "video/mp4"
    assert client.get("/media/thumb/1A-2_A001C002").headers["content-type"] == "image/jpeg"

    page = client.get("/dailies/report").text
    assert "1A-2" in page and "scratch track used for 2 frames" in page and "production" in page


def test_qc_view_and_stage_folders(review_project: Project) -> None:
    qc = review_project.root / "deliver" / "qc"
    qc.mkdir(parents=True)
    report = {
        "path": "/x/master.mov",
        "spec": "ebu-r128",
        "result": "fail",
        "info": {},
        "checks": [
            {
                "name": "loudness",
                "category": "audio",
                "status": "fail",
                "measured": "-18.2 LUFS",
                "expected": ["-23"],
            },
            {
                "name": "resolution",
                "category": "video",
                "status": "pass",
                "measured": "1920x1080",
                "expected": [],
            },
        ],
        "events": [
            {
                "check": "black",
                "severity": "warn",
                "start_tc": "01:00:10:00",
                "end_tc": "01:00:11:00",
                "detail": "black",
            }
        ],
    }
    (qc / "master_qc.json").write_text(json.dumps(report))
    (qc / "master_qc.html").write_text("<html><body><h1>QC master</h1></body></html>")
    client = TestClient(create_app(review_project))
    login(client, *EDITOR)
    page = client.get("/qc").text
    assert "-18.2 LUFS" in page and "01:00:10:00" in page and 'href="/media/qc/master"' in page
    r = client.get("/media/qc/master")
    assert (
        r.status_code == 200
        and "QC master" in r.text
        and "default-src 'none'" in r.headers["content-security-policy"]
    )
    dash = client.get("/").text
    assert "1 reports, 1 failed" in dash
    page = client.get("/stage/deliver").text
    assert "qc/master_qc.json" in page
    assert client.get("/stage/etc").status_code == 404


def test_render_job_makes_a_playable_review_copy(review_project: Project) -> None:
    client = TestClient(create_app(review_project))
    token = login(client, *EDITOR)
    info = client.get("/api/cuts/reel1/2").json()
    assert info["media"] is None and info["render"]["state"] == "none"
    assert "Render a review copy" in client.get("/cuts/reel1/v2").text
    r = client.post("/api/cuts/reel1/2/render", headers={"X-CSRF-Token": token})
    assert r.status_code == 202
    deadline = time.monotonic() + 60
    while client.get("/api/cuts/reel1/2").json()["render"]["state"] == "running":
        assert time.monotonic() < deadline
        time.sleep(0.2)
    info = client.get("/api/cuts/reel1/2").json()
    assert info["render"]["state"] == "done" and info["media"] == "/media/review/reel1/2"
    import av

    with av.open(str(review_project.root / "cuts" / "reel1" / "v002.review.mp4")) as c:
        v = c.streams.video[0]
        assert v.codec_context.name == "h264" and v.frames == 44
    # the cut versions themselves are untouched
    assert sorted(p.name for p in (review_project.root / "cuts" / "reel1").glob("v*.otio")) == [
        "v001.otio",
        "v002.otio",
    ]


def test_turnover_reference_with_leader_plays_from_the_cuts_first_frame(review_project: Project) -> None:
    import numpy as np

    from posthouse.core.media import VideoWriter

    folder = review_project.root / "turnovers" / "reel1_v002"
    folder.mkdir(parents=True)
    ref = folder / "reel1_v002_reference.mp4"
    with VideoWriter(
        ref, width=160, height=90, rate=Fraction(24), preset="h264", start_timecode="00:59:52:00"
    ) as vw:
        for _ in range(8 * 24 + 44):
            vw.write_frame(np.zeros((90, 160, 3), np.uint8))
    client = TestClient(create_app(review_project))
    login(client, *EDITOR)
    info = client.get("/api/cuts/reel1/2").json()
    assert info["media"] == "/media/review/reel1/2" and info["offset"] == 8 * 24  # the 8-second leader
    assert client.get("/media/review/reel1/2").content == ref.read_bytes()
    assert client.get("/api/cuts/reel1/1").json()["offset"] == 0  # our own render starts on the cut
