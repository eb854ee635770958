"""Notes become markers: the store, the ``vNNN.notes.otio`` file re-read with OTIO, notes turned into ADR,
music and VFX cues read back by the departments, and the CLI (`notes list/export`, `share`, `users`)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import opentimelineio as otio
import pytest
import typer
from fastapi.testclient import TestClient
from typer.testing import CliRunner
from web_helpers import login, post_note

from posthouse.cli import serve as serve_cli
from posthouse.core.errors import UsageError
from posthouse.core.project import Project
from posthouse.web.app import create_app
from posthouse.web.store import ReviewStore

EDITOR = ("edith", "cutting-room-1")


def cli() -> typer.Typer:
    app = typer.Typer()
    app.command("serve")(serve_cli.serve)
    app.add_typer(serve_cli.users_app, name="users")
    app.command("share")(serve_cli.share)
    app.add_typer(serve_cli.notes_app, name="notes")
    return app


def stack_markers(path: Path) -> list[otio.schema.Marker]:
    tl = otio.adapters.read_from_file(str(path))
    assert isinstance(tl, otio.schema.Timeline)
    return list(tl.tracks.markers)


def test_notes_store_and_validation(review_project: Project) -> None:
    store = ReviewStore(review_project.catalog)
    n = store.add_note("reel1", 1, frame=7, text="  Too long  ", author="ed", length=48)
    assert (n.frame, n.text, n.status, n.cue) == (7, "Too long", "open", None)
    with pytest.raises(UsageError):
        store.add_note("reel1", 1, frame=48, text="past the end", author="ed", length=48)
    with pytest.raises(UsageError):
        store.add_note("reel1", 1, frame=40, duration=9, text="range past the end", author="ed", length=48)
    with pytest.raises(UsageError):
        store.add_note("reel1", 1, frame=1, text="   ", author="ed")
    with pytest.raises(UsageError):
        store.add_note("reel1", 1, frame=1, text="bad drawing", author="ed", drawing=[[[2.0, 0.5]]])
    d = store.add_note("reel1", 1, frame=2, text="circle", author="ed", drawing=[[[0.1, 0.2], [0.3, 0.4]]])
    assert d.drawing == [[[0.1, 0.2], [0.3, 0.4]]]
    assert store.update_note(n.id, status="addressed", cue="adr").status == "addressed"
    with pytest.raises(UsageError):
        store.update_note(n.id, status="done")
    assert [x.id for x in store.notes("reel1", 1)] == [d.id, n.id]  # record order
    assert store.notes("reel1", 2) == []


def test_notes_become_markers_and_cues(review_project: Project) -> None:
    from posthouse.picture.turnover import vfx_pulls
    from posthouse.score.spotting import spot_cues
    from posthouse.sound.adr import timeline_cues

    client = TestClient(create_app(review_project))
    token = login(client, *EDITOR)
    made = [
        post_note(client, token, 5, "Flash frame here").json(),
        post_note(client, token, 26, "MAYA: We have to go now. | reason: noise", duration=10).json(),
        post_note(client, token, 12, "Swell under the look", duration=20).json(),
        post_note(client, token, 40, "Remove the boom", drawing=[[[0.2, 0.1], [0.4, 0.1]]]).json(),
    ]
    assert [m["tc"] for m in made] == ["01:00:00:05", "01:00:01:02", "01:00:00:12", "01:00:01:16"]
    ids = [m["id"] for m in made]
    for note_id, change in zip(
        ids[1:], ({"cue": "adr"}, {"cue": "music"}, {"cue": "vfx", "status": "addressed"}), strict=True
    ):
        r = client.post(f"/api/notes/{note_id}", json=change, headers={"X-CSRF-Token": token})
        assert r.status_code == 200, r.text

    path = review_project.root / "cuts" / "reel1" / "v001.notes.otio"
    markers = stack_markers(path)
    notes = {m.metadata["posthouse"]["note"]["id"]: m for m in markers if m.name.startswith("NOTE")}
    assert sorted(notes) == sorted(ids)
    for made_note in made:
        m = notes[made_note["id"]]
        assert m.marked_range.start_time.to_frames() == made_note["frame"]
        assert m.marked_range.duration.to_frames() == made_note["duration"]
        assert m.metadata["posthouse"]["note"]["text"] == made_note["text"]
        assert m.metadata["posthouse"]["note"]["author"] == "edith"
    assert notes[ids[0]].color == otio.schema.MarkerColor.RED
    assert notes[ids[3]].color == otio.schema.MarkerColor.GREEN  # addressed
    assert notes[ids[3]].metadata["posthouse"]["note"]["status"] == "addressed"

    # the cut version itself is untouched, and the notes file is the cut plus markers
    cut = otio.adapters.read_from_file(str(review_project.root / "cuts" / "reel1" / "v001.otio"))
    assert [m.name for m in cut.tracks.markers] == ["temp music"]
    notes_tl = otio.adapters.read_from_file(str(path))
    assert [c.name for c in notes_tl.find_clips()] == [c.name for c in cut.find_clips()]

    # the departments read the cue markers
    adr = timeline_cues(notes_tl)
    assert [(c.record_in, c.record_out, c.character, c.line) for c in adr] == [
        (26, 36, "MAYA", "We have to go now.")
    ]
    music = spot_cues(notes_tl).cues
    assert len(music) == 1 and (music[0].start, music[0].end) == (12, 32)
    pulls = vfx_pulls(notes_tl, 24)
    assert [p.shot for p in pulls] == [f"reel1_N{ids[3]:04d}"]

    cues = client.get("/api/cuts/reel1/1/cues").json()
    assert [(c["kind"], c["frame"], c["tc_in"]) for c in cues["cues"]] == [
        ("music", 12, "01:00:00:12"),
        ("adr", 26, "01:00:01:02"),
        ("vfx", 40, "01:00:01:16"),
    ]
    assert cues["markers_file"] == "cuts/reel1/v001.notes.otio"


def test_cli_users_share_and_notes(review_project: Project, tmp_path: Path) -> None:
    runner = CliRunner()
    app = cli()
    p = ["--project", str(review_project.root)]
    r = runner.invoke(app, ["users", "add", "nina", "--role", "editor", "--password", "long-enough-1", *p])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["users", "add", "nina", "--password", "long-enough-1", *p])
    assert r.exit_code == 2 and "exists already" in r.output
    r = runner.invoke(app, ["users", "add", "bob", "--password", "short", *p])
    assert r.exit_code == 2
    r = runner.invoke(app, ["users", "list", "--json", *p])
    assert {u["name"]: u["role"] for u in json.loads(r.output)}["nina"] == "editor"
    r = runner.invoke(app, ["users", "passwd", "nina", "--password", "another-one-2", *p])
    assert r.exit_code == 0
    store = ReviewStore(review_project.catalog)
    assert store.authenticate("nina", "another-one-2") and not store.authenticate("nina", "long-enough-1")

    r = runner.invoke(
        app, ["share", "reel1@v1", "--hours", "48", "--url", "http://review.example:8765", "--json", *p]
    )
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output)
    assert doc["cut"] == "reel1@v001" and doc["url"].startswith("http://review.example:8765/s/")
    share = store.share(doc["url"].rsplit("/", 1)[1])
    assert share is not None and (share.cut, share.version, share.role) == ("reel1", 1, "reviewer")
    assert 47.9 < (share.expires - share.expires.now(share.expires.tzinfo)).total_seconds() / 3600 <= 48
    assert doc["playable"] is True
    r = runner.invoke(app, ["share", "reel1@v2", *p])
    assert r.exit_code == 0 and "no review render yet" in r.output
    r = runner.invoke(app, ["share", "reel1@v2", "--render", "--json", *p])
    assert r.exit_code == 0 and json.loads(r.output)["playable"] is True
    assert (review_project.root / "cuts" / "reel1" / "v002.review.mp4").is_file()
    r = runner.invoke(app, ["share", "reel1@v9", *p])
    assert r.exit_code != 0 and "not found" in r.output

    store.add_note("reel1", 1, frame=30, duration=4, text="Hold longer", author="rita")
    store.add_note("reel1", 1, frame=3, text="Colour jump", author="olive")
    r = runner.invoke(app, ["notes", "list", "reel1@v1", *p])
    assert r.exit_code == 0, r.output
    lines = [line for line in r.output.splitlines() if line.strip().startswith("#")]
    assert "01:00:00:03" in lines[0] and "Colour jump" in lines[0]
    assert "01:00:01:06–01:00:01:10" in lines[1] and "Hold longer" in lines[1]
    r = runner.invoke(app, ["notes", "list", "reel1@v1", "--json", *p])
    doc = json.loads(r.output)
    assert [(n["frame"], n["tc"]) for n in doc["notes"]] == [(3, "01:00:00:03"), (30, "01:00:01:06")]
    out = tmp_path / "notes.csv"
    r = runner.invoke(app, ["notes", "export", "reel1@v1", "-o", str(out), *p])
    assert r.exit_code == 0, r.output
    rows = list(csv.DictReader(out.open()))
    assert [(row["tc"], row["author"]) for row in rows] == [("01:00:00:03", "olive"), ("01:00:01:06", "rita")]
    frames = sorted(
        m.marked_range.start_time.to_frames()
        for m in stack_markers(Path(doc["markers_file"]))
        if m.name.startswith("NOTE")
    )
    assert frames == [3, 30]


def test_cli_serve_starts_uvicorn_on_the_project(
    review_project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    seen: dict[str, object] = {}

    def fake_run(app: object, **kw: object) -> None:
        seen.update(kw, app=app)

    monkeypatch.setattr(uvicorn, "run", fake_run)
    r = CliRunner().invoke(cli(), ["serve", "--project", str(review_project.root), "--port", "8799"])
    assert r.exit_code == 0, r.output
    assert seen["host"] == "127.0.0.1" and seen["port"] == 8799
    client = TestClient(seen["app"])  # type: ignore[arg-type]
    assert client.get("/login").status_code == 200


def test_notes_export_json_has_the_cue_list(review_project: Project, tmp_path: Path) -> None:
    store = ReviewStore(review_project.catalog)
    n = store.add_note("reel1", 1, frame=8, duration=3, text="THEO: Wait. | reason: plane", author="rita")
    store.update_note(n.id, cue="adr")
    out = tmp_path / "cues.json"
    r = CliRunner().invoke(
        cli(), ["notes", "export", "reel1@v1", "-o", str(out), "--project", str(review_project.root)]
    )
    assert r.exit_code == 0, r.output
    doc = json.loads(out.read_text())
    assert doc["cues"] == [
        {
            "note": n.id,
            "kind": "adr",
            "name": f"reel1_N{n.id:04d}",
            "frame": 8,
            "duration": 3,
            "tc_in": "01:00:00:08",
            "tc_out": "01:00:00:11",
            "text": "THEO: Wait. | reason: plane",
            "author": "rita",
            "status": "open",
        }
    ]
    names = [m.name for m in stack_markers(Path(doc["markers_file"]))]
    assert names == ["temp music", f"NOTE {n.id}", "ADR"]  # the cut's marker, the note, its cue
