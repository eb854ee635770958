"""End to end in a real browser (Debian's chromium driven by Playwright): log in, open a cut, step to a
frame, add a note and see it as a marker after reload; a share-link reviewer leaves three notes at exact
frames and the editor finds them as markers in the CLI and in the OTIO file. Screenshots are kept."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import opentimelineio as otio
import pytest
import typer
from typer.testing import CliRunner
from web_helpers import LiveServer

from posthouse.cli import serve as serve_cli
from posthouse.core.project import Project
from posthouse.core.time import Timecode
from posthouse.web.store import ReviewStore

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
EDITOR = ("edith", "cutting-room-1")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="/usr/bin/chromium is not installed (apt install chromium)"
    ),
]


@pytest.fixture
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(params=["sqlite"])
def catalog_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The browser tests run on SQLite only (the database paths are covered by the other tests on both)."""
    return f"sqlite:///{tmp_path / 'catalog.db'}"


def shot(page: Any, tmp_path: Path, name: str) -> None:
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 1000
    keep = os.environ.get("POSTHOUSE_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(keep) / path.name)


def wait_ready(page: Any) -> None:
    page.wait_for_selector("main[data-ready='yes']")
    page.wait_for_function("document.getElementById('player').readyState >= 2")


def wait_frame(page: Any, frame: int) -> None:
    """Wait until the player sits on ``frame`` (readout and the video element's own time agree)."""
    page.wait_for_function(
        "f => { const v = document.getElementById('player');"
        " return !v.seeking && v.readyState >= 2 && Math.floor(v.currentTime * 24 + 1e-3) === f"
        " && document.getElementById('frame').textContent === String(f); }",
        arg=frame,
    )


def grey(page: Any) -> float:
    """The grey level at the centre of the picture the video element shows now."""
    value: float = page.evaluate(
        """() => { const v = document.getElementById('player');
        const c = document.createElement('canvas'); c.width = v.videoWidth; c.height = v.videoHeight;
        const g = c.getContext('2d'); g.drawImage(v, 0, 0);
        const d = g.getImageData(c.width / 2 - 4, c.height / 2 - 4, 8, 8).data;
        let s = 0; for (let i = 0; i < d.length; i += 4) s += d[i + 1]; return s / (d.length / 4); }"""
    )
    return value


def test_editor_steps_to_a_frame_and_sees_the_note_as_a_marker(
    browser: Any, live_server: LiveServer, review_project: Project, tmp_path: Path
) -> None:
    page = browser.new_page(
        viewport={"width": 1280, "height": 900}, bypass_csp=True
    )  # lets tests evaluate JS
    page.goto(f"{live_server.url}/cuts/reel1/v1")
    assert "/login" in page.url  # not logged in: to the login form and back
    page.fill("#login-name", EDITOR[0])
    page.fill("#login-password", EDITOR[1])
    shot(page, tmp_path, "01_login")
    page.click("#login-submit")
    page.wait_for_url("**/cuts/reel1/v1")
    wait_ready(page)
    assert page.text_content("#tc") == "01:00:00:00"

    for _ in range(5):
        page.click("#fwd1")
    wait_frame(page, 5)
    assert page.text_content("#tc") == "01:00:00:05"
    assert abs(grey(page) - 20) <= 3  # frame 5 of the first shot (grey 4 × 5)
    page.click("#fwd1")
    wait_frame(page, 6)
    assert abs(grey(page) - 24) <= 3
    page.click("#back1")
    wait_frame(page, 5)
    # into the second shot (source +6 frames): record 30 shows source frame 36
    page.fill("#goto", "01:00:01:06")
    page.press("#goto", "Enter")
    wait_frame(page, 30)
    assert abs(grey(page) - 144) <= 3
    page.click("#back10")
    page.click("#fwd1")
    wait_frame(page, 21)
    assert page.text_content("#tc") == "01:00:00:21"

    # a note with a drawing over the frame
    page.check("#draw-toggle")
    box = page.locator("#overlay").bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.3)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] * 0.5, steps=5)
    page.mouse.up()
    page.fill("#note-text", "Cut earlier, on the blink")
    page.click("#add-note")
    page.wait_for_selector("#notes li[data-frame='21']")
    shot(page, tmp_path, "02_note_added")

    page.reload()
    wait_ready(page)
    marker = page.locator(".note-marker[data-frame='21']")
    marker.wait_for(state="visible")
    assert page.locator(".cut-marker").count() == 1  # the cut's own marker
    assert "Cut earlier, on the blink" in page.text_content("#notes")
    marker.click()
    wait_frame(page, 21)
    shot(page, tmp_path, "03_after_reload_marker")
    (note,) = ReviewStore(review_project.catalog).notes("reel1", 1)
    assert (note.frame, note.author, note.status) == (21, "edith", "open")
    assert note.drawing and len(note.drawing[0]) >= 2

    # the editor addresses it: the marker turns green
    page.click("#notes li[data-frame='21'] .status-btn")
    page.wait_for_selector(".note-marker.status-addressed[data-frame='21']")

    # the page's timecode labels agree with posthouse.core.time, drop-frame included
    frames = [0, 1799, 1800, 17981, 17982, 107892, 2589407]
    labels = page.evaluate("fs => fs.map(f => window.posthouseTC.label(f, 30, true))", frames)
    assert labels == [str(Timecode.from_frames(f, "29.97", True)) for f in frames]
    labels = page.evaluate("fs => fs.map(f => window.posthouseTC.label(f, 24, false))", frames)
    assert labels == [str(Timecode.from_frames(f, "24", False)) for f in frames]
    page.goto(f"{live_server.url}/compare/reel1?a=1&b=2")
    page.wait_for_selector("#changes tr.change")
    shot(page, tmp_path, "04_compare")
    page.goto(f"{live_server.url}/")
    page.wait_for_selector("#stages tr[data-stage='cuts']")
    shot(page, tmp_path, "05_dashboard")


def test_share_link_reviewer_leaves_three_notes_the_editor_sees_markers(
    browser: Any, live_server: LiveServer, review_project: Project, tmp_path: Path
) -> None:
    runner = CliRunner()
    cli = typer.Typer()
    cli.command("share")(serve_cli.share)
    cli.add_typer(serve_cli.notes_app, name="notes")
    p = ["--project", str(review_project.root)]
    r = runner.invoke(cli, ["share", "reel1@v1", "--hours", "48", "--url", live_server.url, "--json", *p])
    assert r.exit_code == 0, r.output
    url = json.loads(r.output)["url"]

    page = browser.new_page(
        viewport={"width": 1280, "height": 900}, bypass_csp=True
    )  # lets tests evaluate JS
    page.goto(url)
    page.wait_for_url("**/cuts/reel1/v1")
    wait_ready(page)
    assert page.locator("header nav").count() == 0  # a share link sees this cut only
    page.fill("#note-author", "Olive (producer)")

    # 1: a point note by typed timecode
    page.fill("#goto", "01:00:00:10")
    page.press("#goto", "Enter")
    wait_frame(page, 10)
    page.fill("#note-text", "Hold on her face a beat longer")
    page.click("#add-note")
    page.wait_for_selector("#notes li[data-frame='10']")
    # 2: a point note by stepping with the keyboard
    page.click("#stage-box")
    for _ in range(7):
        page.keyboard.press("ArrowRight")
    wait_frame(page, 17)
    page.fill("#note-text", "Sound dips here")
    page.click("#add-note")
    page.wait_for_selector("#notes li[data-frame='17']")
    # 3: a range note, marked in and out
    page.fill("#goto", "30")
    page.press("#goto", "Enter")
    wait_frame(page, 30)
    page.click("#mark-in")
    page.click("#fwd1")
    page.click("#fwd1")
    page.click("#fwd1")
    page.click("#fwd1")
    page.click("#fwd1")
    wait_frame(page, 35)
    page.click("#mark-out")
    page.fill("#note-text", "Too dark in this stretch")
    page.click("#add-note")
    page.wait_for_selector("#notes li[data-frame='30']")
    shot(page, tmp_path, "06_share_three_notes")
    page.reload()
    wait_ready(page)
    for f in (10, 17, 30):
        page.locator(f".note-marker[data-frame='{f}']").wait_for(state="visible")
    assert page.locator("#notes li").count() == 3

    # the editor: `posthouse notes list reel1@v1` and the notes OTIO file
    r = runner.invoke(cli, ["notes", "list", "reel1@v1", "--json", *p])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output)
    got = [(n["frame"], n["duration"], n["tc"], n["author"], n["text"]) for n in doc["notes"]]
    assert got == [
        (10, 0, "01:00:00:10", "Olive (producer)", "Hold on her face a beat longer"),
        (17, 0, "01:00:00:17", "Olive (producer)", "Sound dips here"),
        (30, 6, "01:00:01:06", "Olive (producer)", "Too dark in this stretch"),
    ]
    r = runner.invoke(cli, ["notes", "list", "reel1@v1", *p])
    assert "01:00:01:06–01:00:01:12" in r.output and "Sound dips here" in r.output
    tl = otio.adapters.read_from_file(doc["markers_file"])
    marks = sorted(
        (
            m.marked_range.start_time.to_frames(),
            m.marked_range.duration.to_frames(),
            m.metadata["posthouse"]["note"]["text"],
        )
        for m in tl.tracks.markers
        if m.name.startswith("NOTE")
    )
    assert marks == [
        (10, 0, "Hold on her face a beat longer"),
        (17, 0, "Sound dips here"),
        (30, 6, "Too dark in this stretch"),
    ]
