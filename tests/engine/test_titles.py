"""Title cards, an end-credits roll and burned-in subtitles rendered by the engine."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import av
import numpy as np
import numpy.typing as npt
import opentimelineio as otio
import pytest
from PIL import Image

from posthouse.core.errors import UsageError
from posthouse.engine import iter_timeline_frames, render_timeline
from posthouse.engine.generators import CreditsRoll, parse_credits
from posthouse.engine.subtitles import parse_subtitles

W, H = 160, 90
RATE = 24
GREY = 100

CREDITS = """# DIRECTED BY
Ada Lovelace

# CAST
Detective: Grace Hopper
The Stranger: Alan Turing

# CREW
Sound: Claude Shannon
Editor: Margaret Hamilton
Made with posthouse
"""


def rt(v: float) -> otio.opentime.RationalTime:
    return otio.opentime.RationalTime(v, RATE)


def generator(kind: str, frames: int, **params: Any) -> otio.schema.Clip:
    ref = otio.schema.GeneratorReference(generator_kind=kind, parameters=params)
    return otio.schema.Clip(
        name=kind, media_reference=ref, source_range=otio.opentime.TimeRange(rt(0), rt(frames))
    )


def timeline(*tracks: list[otio.core.Item]) -> otio.schema.Timeline:
    tl = otio.schema.Timeline(name="titles", global_start_time=rt(86400))
    for items in tracks:
        track = otio.schema.Track(kind=otio.schema.TrackKind.Video)
        for item in items:
            track.append(item)
        tl.tracks.append(track)
    return tl


def frames(tl: otio.schema.Timeline, **kw: Any) -> list[npt.NDArray[np.uint8]]:
    return [f.copy() for f in iter_timeline_frames(tl, size=(W, H), **kw)]


@pytest.fixture(scope="module")
def grey(tmp_path_factory: pytest.TempPathFactory) -> otio.schema.Clip:
    path = tmp_path_factory.mktemp("titles") / "grey.png"
    Image.fromarray(np.full((H, W, 3), GREY, np.uint8)).save(path)
    return otio.schema.Clip(
        name="grey",
        media_reference=otio.schema.ExternalReference(target_url=path.as_uri()),
        source_range=otio.opentime.TimeRange(rt(0), rt(24)),
    )


def ink_rows(frame: npt.NDArray[np.uint8], background: int = 0) -> npt.NDArray[np.intp]:
    return np.flatnonzero((np.abs(frame.astype(int) - background) > 40).any(axis=(1, 2)))


def test_title_card_text_in_the_middle() -> None:
    out = frames(timeline([generator("title", 6, text="THE END", font_size=20, color="#ffcc00")]))
    f = out[3]
    rows = ink_rows(f)
    assert rows.size > 8 and rows.min() > H // 4 and rows.max() < 3 * H // 4
    cols = np.flatnonzero((f > 40).any(axis=(0, 2)))
    assert abs((cols.min() + cols.max()) / 2 - W / 2) <= 3  # centred
    assert (f[0:10] == 0).all()  # black background
    lit = f[(f > 200).all(axis=2) | ((f[..., 0] > 200) & (f[..., 1] > 150))]
    assert lit.size and (lit[:, 2] < 60).all()  # yellow text: crisp, full-level pixels exist


def test_title_over_picture_with_fade_and_position(grey: otio.schema.Clip) -> None:
    title = generator(
        "title", 8, text=["Lower", "third"], background="transparent", position="lower_third", fade=4
    )
    out = frames(
        timeline([grey.clone()], [otio.schema.Gap(source_range=otio.opentime.TimeRange(rt(0), rt(4))), title])
    )
    assert (out[2] == GREY).all()  # before the title
    assert (out[4] == GREY).all()  # first frame of a 4-frame fade: opacity 0
    full = out[8]
    rows = ink_rows(full, GREY)
    assert rows.size and rows.min() > H // 2  # lower third
    assert (full[:20] == GREY).all()  # transparent background shows the grey
    assert (full > GREY + 100).any()
    half = out[6]  # opacity 2/4
    assert GREY < half.max() < full.max()


def test_bad_title_position_is_offline_not_a_crash() -> None:
    plan_tl = timeline([generator("title", 2, text="x", position="sideways")])
    out = frames(plan_tl)
    assert out[0][..., 0].mean() > 60  # the red MEDIA OFFLINE slate


def test_parse_credits() -> None:
    lines = parse_credits(CREDITS)
    assert lines[0].kind == "heading" and lines[0].text == "DIRECTED BY"
    assert ("role", "Detective", "Grace Hopper") in [(x.kind, x.text, x.name) for x in lines]
    assert lines[-1].kind == "text"


def test_credits_roll_enters_at_the_bottom_and_leaves_at_the_top(tmp_path: Path) -> None:
    path = tmp_path / "credits.txt"
    path.write_text(CREDITS, encoding="utf-8")
    n = 24
    out = frames(timeline([generator("credits", n, path=str(path), font_size=12)]))
    assert len(out) == n
    strip_h = CreditsRoll({"path": str(path), "font_size": 12}, (W, H), n, "test").strip.shape[0]
    v = (H + strip_h) / (n + 1)  # the documented constant speed
    assert strip_h > H
    first, last = ink_rows(out[0]), ink_rows(out[-1])
    assert first.size and first.min() >= H - math.ceil(v)  # text entering at the bottom
    assert last.size and last.max() < math.ceil(v)  # the end leaving at the top
    # constant speed: the roll's first row sits at H - (k + 1)·v while it is on screen
    for k in range(int(H / v) - 1):
        assert abs(int(ink_rows(out[k]).min()) - (H - (k + 1) * v)) <= 1, k


def test_credits_roll_whole_pixel_speed_is_an_exact_shift(tmp_path: Path) -> None:
    path = tmp_path / "credits.txt"
    path.write_text(CREDITS, encoding="utf-8")
    v, n = 5, 20
    out = frames(timeline([generator("credits", n, path=str(path), font_size=12, speed=v)]))
    first = ink_rows(out[0])
    assert first.size and first.min() >= H - v
    for k in range(n - 1):  # every frame is the previous one moved up by exactly v rows: crisp
        assert np.array_equal(out[k + 1][: H - v], out[k][v:]), k
    assert set(np.unique(out[10])) >= {0, 255}


def test_credits_missing_file_goes_offline(tmp_path: Path) -> None:
    out = frames(timeline([generator("credits", 2, path=str(tmp_path / "nope.txt"))]))
    assert out[0][..., 0].mean() > 60


SRT = """1
00:00:00,500 --> 00:00:01,000
<i>Hello there.</i>

2
00:00:01,500 --> 00:00:01,750
A second cue with enough words
to need wrapping onto two lines, surely
"""


def test_parse_srt_and_vtt(tmp_path: Path) -> None:
    srt = tmp_path / "a.srt"
    srt.write_text(SRT, encoding="utf-8")
    cues = parse_subtitles(srt)
    assert [(float(c.start), float(c.end)) for c in cues] == [(0.5, 1.0), (1.5, 1.75)]
    assert cues[0].lines == ("Hello there.",)
    vtt = tmp_path / "a.vtt"
    vtt.write_text("WEBVTT\n\nintro\n00:01.000 --> 00:02.000 align:center\nHi\n", encoding="utf-8")
    (cue,) = parse_subtitles(vtt)
    assert (float(cue.start), float(cue.end), cue.lines) == (1.0, 2.0, ("Hi",))
    with pytest.raises(UsageError):
        parse_subtitles(tmp_path / "a.txt")


def test_subtitles_only_during_cues(grey: otio.schema.Clip, tmp_path: Path) -> None:
    srt = tmp_path / "a.srt"
    srt.write_text(SRT, encoding="utf-8")
    tl = timeline([grey.clone(), grey.clone()])
    out = frames(tl, subtitles=srt)
    drawn = [k for k, f in enumerate(out) if not (f == GREY).all()]
    assert drawn == list(range(12, 24)) + list(range(36, 42))  # 0.5–1.0 s and 1.5–1.75 s at 24 fps
    cue1 = ink_rows(out[12], GREY)
    assert cue1.min() > H // 2  # bottom
    cols = np.flatnonzero((np.abs(out[12].astype(int) - GREY) > 40).any(axis=(0, 2)))
    assert abs((cols.min() + cols.max()) / 2 - W / 2) <= 4  # centred
    assert (out[12][cue1] < GREY).any()  # the dimmed box
    assert ink_rows(out[36], GREY).size > ink_rows(out[12], GREY).size  # two lines


def test_render_with_subtitles(grey: otio.schema.Clip, tmp_path: Path) -> None:
    srt = tmp_path / "a.srt"
    srt.write_text("1\n00:00:00,250 --> 00:00:00,500\nBurned in\n", encoding="utf-8")
    out = tmp_path / "sub.mp4"
    report = render_timeline(timeline([grey.clone()]), out, size=(W, H), subtitles=srt)
    assert report.frames == 24 and out.exists()
    with av.open(str(out)) as movie:
        decoded = [f.to_ndarray(format="rgb24") for f in movie.decode(video=0)]
    bottom = [float(np.abs(f[H // 2 :].astype(int) - GREY).max()) for f in decoded]
    assert all(b > 60 for b in bottom[6:12]) and all(b < 20 for b in bottom[:5] + bottom[13:])


def test_cli_render_subtitles(grey: otio.schema.Clip, tmp_path: Path) -> None:
    import json

    import typer
    from typer.testing import CliRunner

    from posthouse.cli.render import render
    from posthouse.core.project import Project
    from posthouse.picture.cuts import CutStore

    project = Project.init(tmp_path / "proj", fps="24", resolution=f"{W}x{H}")
    CutStore(project.root / "cuts").save("titles", timeline([grey.clone()]))
    srt = tmp_path / "a.srt"
    srt.write_text("1\n00:00:00,000 --> 00:00:00,500\nHi\n", encoding="utf-8")
    app = typer.Typer()
    app.command()(render)
    out = tmp_path / "out.mp4"
    args = ["titles@v1", "-o", str(out), "--size", f"{W}x{H}", "--subtitles", str(srt), "--no-burn-in"]
    result = CliRunner().invoke(app, [*args, "--project", str(project.root), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["frames"] == 24
    with av.open(str(out)) as movie:
        f0 = next(movie.decode(video=0)).to_ndarray(format="rgb24")
    assert np.abs(f0[H // 2 :].astype(int) - GREY).max() > 60
