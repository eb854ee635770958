"""The command line: exit codes, JSON for scripts, errors that name the file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from scipy import signal
from typer.testing import CliRunner

from posthouse.cli.app import app

runner = CliRunner()


def _json(result) -> object:  # type: ignore[no-untyped-def]
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout)


def test_help_lists_the_commands() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for cmd in ("tc", "probe", "init", "scan", "catalog", "demo"):
        assert cmd in result.stdout


def test_probe_json_and_damaged_exit_code(movie: Path, tmp_path: Path) -> None:
    data = _json(runner.invoke(app, ["probe", str(movie), "--json"]))
    assert isinstance(data, dict)
    assert data["start_timecode"] == "01:00:00:00" and data["reel"] == "A001"
    assert data["video"][0]["frames"] == 12
    bad = tmp_path / "bad.mov"
    bad.write_bytes(b"not a movie at all" * 10)
    result = runner.invoke(app, ["probe", str(movie), str(bad), "--json"])
    assert result.exit_code == 1
    both = json.loads(result.stdout)
    assert [d["damaged"] for d in both] == [False, True]


def test_probe_missing_file_names_it(tmp_path: Path) -> None:
    result = runner.invoke(app, ["probe", str(tmp_path / "gone.mov")])
    assert result.exit_code == 1
    assert "gone.mov" in result.output


def test_init_scan_catalog(tmp_path: Path, movie_factory, monkeypatch: pytest.MonkeyPatch) -> None:
    proj = tmp_path / "film"
    result = runner.invoke(app, ["init", str(proj), "--fps", "25", "--resolution", "1280x720"])
    assert result.exit_code == 0, result.output
    assert 'fps = "25"' in (proj / "posthouse.toml").read_text()
    movie_factory("card/A001C001.mov", rate=25)
    (tmp_path / "card" / "broken.mov").write_bytes(b"junk" * 100)
    monkeypatch.chdir(proj)
    result = runner.invoke(app, ["scan", str(tmp_path / "card"), "--cluster", "serial", "--json"])
    assert result.exit_code == 1  # partial: one damaged file, listed
    report = json.loads(result.stdout)
    assert len(report["added"]) == 2 and len(report["damaged"]) == 1
    listing = _json(runner.invoke(app, ["catalog", "--json", "--kind", "video"]))
    assert isinstance(listing, list) and [Path(r["path"]).name for r in listing] == ["A001C001.mov"]
    assert listing[0]["rate"] == "25/1"


def test_usage_errors_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    r = runner.invoke(app, ["init", str(tmp_path / "x"), "--fps", "27"])
    assert r.exit_code == 2 and "27" in r.output
    monkeypatch.chdir(tmp_path)
    r = runner.invoke(app, ["catalog"])
    assert r.exit_code == 2 and "posthouse init" in r.output
    r = runner.invoke(app, ["demo", "shoot", str(tmp_path / "s"), "--size", "imax"])
    assert r.exit_code == 2 and "--size" in r.output


def _speech_mask(root: Path, n: int, rate: int) -> Any:
    """Where the cut plays a line, per printmaster sample, from the shoot's ground truth (not a detector)."""
    import numpy as np
    import opentimelineio as otio

    from posthouse.engine import plan_timeline

    truth = json.loads((root / "shoot" / "ground_truth.json").read_text())
    plan = plan_timeline(
        otio.adapters.read_from_file(str(root / "project" / "cuts" / "assembly" / "v001.otio"))
    )
    fps = float(plan.rate.fps)
    mask = np.zeros(n, bool)
    for clip in plan.audio[0]:
        take = truth["takes"][clip.name.split()[0]]
        lo, hi = round(clip.record_in / fps * rate), round(clip.record_out / fps * rate)
        shift = lo - round(float(clip.source_offset) * rate)  # record sample of file sample 0
        for line in take["dialogue"]["lines"]:
            a, b = max(lo, line["start_sample"] + shift), min(hi, line["end_sample"] + shift)
            if a < b:
                mask[a:b] = True
    return mask


def _check_demo_score(score: dict[str, Any], sound: dict[str, Any]) -> None:
    """The scoring stage's "done means" on the demo: hits made, and the music in the mix where spotted."""
    import numpy as np
    import soundfile as sf

    assert score["hits_total"] == 3 and score["hits_made"] == 3
    cue = score["cues"][0]
    assert all(abs(h["error_frames"]) <= 1 for h in cue["hits"])
    for key in ("music_stem", "cue_sheet", "streamers", "music_edit"):
        assert Path(score[key]).is_file(), key
    # the music stem of the mix starts at the spotted cue start (record frame 24 at 23.976: sample 48048)
    stems = Path(sound["mix"]["netflix"]["printmaster"]["5.1"]).parent
    mx = sf.read(stems / "assembly_v001_MX_51.wav")[0]
    first = int(np.flatnonzero(np.abs(mx).max(axis=1) > 1e-4)[0])
    assert 0 <= first - cue["cue_start"] * 2002 < 2002


def _check_demo_finish(finish: dict[str, Any], root: Path) -> None:
    """Finishing on the demo: the EDL relinks frame-exact, the VFX return is cut in, the master renders."""
    import opentimelineio as otio

    conform = finish["conform"]
    assert (
        conform["ok"] and conform["conformed"] == conform["events"] == 2 and not conform["differing_frames"]
    )
    locked = otio.adapters.read_from_file(str(root / "project" / "cuts" / "assembly" / "v001.otio"))
    conformed = otio.adapters.read_from_file(conform["otio"])
    pairs = zip(locked.video_tracks()[0].find_clips(), conformed.video_tracks()[0].find_clips(), strict=True)
    for ours, theirs in pairs:  # the same original, the same first frame, the same length
        assert (
            Path(theirs.media_reference.target_url.removeprefix("file://")).resolve()
            == Path(ours.media_reference.target_url.removeprefix("file://")).resolve()
        )
        assert theirs.source_range.start_time.to_frames() == ours.source_range.start_time.to_frames()
        assert theirs.source_range.duration.to_frames() == ours.source_range.duration.to_frames()
    vfx = finish["vfx"]
    assert vfx["shots"] == ["SH010"] and vfx["cut_in"] == ["SH010"]
    assert [r["status"] for r in vfx["returns"]] == ["submitted"]
    cut_in = otio.adapters.read_from_file(vfx["timeline"])
    refs = [c.media_reference for c in cut_in.video_tracks()[0].find_clips()]
    assert isinstance(refs[-1], otio.schema.ImageSequenceReference)
    master = finish["master"]
    assert Path(master["output"]).is_file() and master["frames"] == 424 and master["graded_clips"] == 2


def _check_demo_deliver(deliver: dict[str, Any]) -> None:
    """Deliverables on the demo, re-read independently: subtitles, QC, the HLS ladder, the archive."""
    import av

    srt = Path(deliver["subtitles"]["files"]["srt"]).read_text(encoding="utf-8")
    assert srt.count(" --> ") == deliver["subtitles"]["cues"] == 6 and "The sound is late again." in srt
    assert not deliver["qc"]["failed"] and Path(deliver["qc"]["html"]).is_file()
    doc = json.loads(Path(deliver["qc"]["json"]).read_text(encoding="utf-8"))
    assert {c["name"] for c in doc["checks"] if c["status"] == "pass"} >= {
        "black",
        "freeze",
        "integrated_loudness",
    }
    assert deliver["streaming"]["valid"]
    with av.open(deliver["streaming"]["master_playlist"]) as c:  # FFmpeg's HLS demuxer plays the ladder
        assert c.streams.video and sum(1 for _ in c.demux(c.streams.video[0])) > 100
    assert deliver["archive"]["verified"] and deliver["archive"]["files"] > 100
    _check_demo_dcp(deliver["dcp"], Path(deliver["qc"]["file"]))


def _check_demo_dcp(dcp: dict[str, Any], mezzanine: Path) -> None:
    """The demo's DCP passes ClairMeta and its picture decodes back to the graded picture."""
    import av
    import numpy as np

    from clairmeta_check import clairmeta_check
    from posthouse.finish.dcp_picture import xyz12_to_rgb

    path = Path(dcp["path"])
    assert dcp["hashes_ok"] and "_FTR" in path.name and path.name.endswith("_SMPTE_OV")
    errors, _warnings = clairmeta_check(path)
    assert not errors, errors
    picture = next(path.glob("j2c_*.mxf"))
    with av.open(str(picture)) as c:
        stream = c.streams.video[0]
        assert (stream.codec_context.width, stream.codec_context.height) == (1998, 1080)
        frames = [f for i, f in enumerate(c.decode(stream)) if i in (100, 300)]
    assert len(frames) == 2
    with av.open(str(mezzanine)) as c:
        masters = [f.to_ndarray(format="rgb24") for i, f in enumerate(c.decode(video=0)) if i in (100, 300)]
    for frame, master in zip(frames, masters, strict=True):
        plane = frame.planes[0]  # FFmpeg decodes to xyz12le: the 12-bit codes in the top of 16-bit words
        rows = np.frombuffer(bytes(plane), np.uint16).reshape(frame.height, plane.line_size // 2)
        xyz = rows[:, : frame.width * 3].reshape(frame.height, frame.width, 3) >> 4
        rgb = xyz12_to_rgb(xyz)[:, 39:1959]  # the 1920x1080 picture inside the pillarbox
        small = rgb.reshape(360, 3, 640, 3, 3).mean(axis=(1, 3)) * 255
        psnr = 10 * np.log10(255**2 / np.mean((small - master.astype(np.float64)) ** 2))
        assert psnr > 28, psnr


def _check_demo_status(project: Path) -> None:
    """Issue 11: every department's run is in the lineage; a changed mix makes the deliverables stale."""
    status = _json(runner.invoke(app, ["status", "--project", str(project), "--json"]))
    assert {r["stage"]: r["state"] for r in status} == {
        s: "fresh" for s in ("score", "sound", "finish", "deliver")
    }
    report = project / "sound" / "assembly_v001" / "mix" / "cinema" / "mix_report.json"
    kept = report.read_bytes()
    report.write_bytes(kept + b" ")
    try:
        result = runner.invoke(app, ["status", "--project", str(project), "--json"])
        assert result.exit_code == 1
        states = {r["stage"]: r["state"] for r in json.loads(result.stdout)}
        assert states == {"score": "fresh", "sound": "stale", "finish": "fresh", "deliver": "stale"}
    finally:
        report.write_bytes(kept)


def _check_demo_schedule(project: Path) -> None:
    """Issue 12 on the demo run: the post schedule marks the stages done from what the pipeline produced."""
    from datetime import date

    from posthouse.supervise.progress import task_progress
    from posthouse.supervise.schedule import default_template

    progress = task_progress(project, default_template(date(2027, 3, 1), date(2027, 6, 15)))
    made = {k for k, v in progress.items() if v.done and not v.implied_by}
    assert made >= {"dailies", "picture_lock", "turnover", "mix", "conform", "grade", "qc", "deliverables"}, (
        made
    )


def _check_demo_costs(project: Path, tmp_path: Path) -> None:
    """Issue 12 on the demo run: each stage is a job in the catalog's log, and the cost report adds up
    (actual = imported invoices + pipeline costs: job hours × rates, and storage)."""
    from decimal import Decimal

    from posthouse.core.project import Project

    opened = Project.open(project)
    try:
        jobs = opened.catalog.jobs()
    finally:
        opened.close()
    kinds = ["offload", "catalog", "sync", "dailies", "editorial", "score", "sound", "finish", "deliver"]
    assert [j.kind for j in jobs] == kinds and all(j.state == "done" for j in jobs)
    invoices = tmp_path / "invoices.csv"
    invoices.write_text(
        "date,vendor,invoice,account,amount,description\n2027-01-15,Cutting Room,CR-1,5100,1200.50,\n"
    )
    base = ["--project", str(project)]
    assert runner.invoke(app, ["budget", "import-invoices", str(invoices), *base]).exit_code == 0
    rep = _json(runner.invoke(app, ["budget", "show", *base, "--json"]))
    pipeline = [Decimal(c["amount"]) for c in rep["pipeline"]]
    assert len(pipeline) == len(kinds) + 1 and not rep["notes"]  # one cost a job, plus storage
    assert Decimal(rep["total"]["actual"]) == Decimal("1200.50") + sum(pipeline)
    deliver = next(c for c in rep["pipeline"] if " deliver " in c["source"])
    assert deliver["account"] == "5600" and Decimal(deliver["quantity"]) > 0


def _check_demo_sound(sound: dict[str, Any], root: Path) -> None:
    """The issue's "done means" for sound, checked independently of posthouse's own meter."""
    import numpy as np
    import pyloudnorm
    import soundfile as sf

    from posthouse.sound.specs import load_spec

    assert sound["dialogue"]["snr_after_db"] > sound["dialogue"]["snr_before_db"] + 3
    assert sound["dialogue"]["segsnr_after_db"] > sound["dialogue"]["segsnr_before_db"] + 3
    # the ADR take's words land within 10 ms of the guide's (ground-truth word onsets)
    assert sound["adr"]["word_error_max_ms"] < 10, sound["adr"]
    for name, mix in sound["mix"].items():
        spec = load_spec(name)
        assert mix["passed"], name
        for layout, path in mix["printmaster"].items():
            data, rate = sf.read(path, always_2d=True)
            if data.shape[1] == 6:  # pyloudnorm takes L R C Ls Rs
                data = data[:, [0, 1, 2, 4, 5]]
            peak = 20 * np.log10(np.abs(signal.resample_poly(data, 4, 1, axis=0)).max())
            assert peak <= spec.true_peak_dbtp + 0.1, (name, layout, peak)
            if spec.gating == "dialogue":  # only where the lines are, from the ground truth
                data = data[_speech_mask(root, data.shape[0], rate)]
            level = pyloudnorm.Meter(rate).integrated_loudness(data)
            assert abs(level - spec.target_lufs) <= 0.5, (name, layout, level)
    # the M&E has no dialogue: it is the printmaster less the dialogue stem, uncorrelated with it
    stems = Path(sound["mix"]["netflix"]["printmaster"]["5.1"]).parent
    me = sf.read(stems / "assembly_v001_ME_51.wav")[0]
    dx = sf.read(stems / "assembly_v001_DX_51.wav")[0]
    pm = sf.read(stems / "assembly_v001_PM_51.wav")[0]
    assert np.abs(pm - dx - me).max() < 1e-5
    corr = np.dot(me.sum(1), dx.sum(1)) / (np.linalg.norm(me.sum(1)) * np.linalg.norm(dx.sum(1)))
    assert abs(corr) < 0.05


@pytest.mark.slow
def test_demo_run_end_to_end_and_resume(tmp_path: Path) -> None:
    root = tmp_path / "demo"
    result = runner.invoke(app, ["demo", "run", str(root), "--cluster", "local", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["ok"]
    assert report["stages"] == [
        "shoot",
        "project",
        "offload",
        "catalog",
        "sync",
        "dailies",
        "assembly",
        "lock",
        "turnover",
        "score",
        "sound",
        "finish",
        "deliver",
    ]
    assert set(report["timings"]) >= {"shoot", "dailies", "sound", "finish", "deliver"}
    assert (root / "demo_report.html").is_file()
    _check_demo_finish(report["finish"], root)
    _check_demo_deliver(report["deliver"])
    _check_demo_schedule(root / "project")
    _check_demo_status(root / "project")
    _check_demo_costs(root / "project", tmp_path)
    _check_demo_score(report["score"], report["sound"])
    _check_demo_sound(report["sound"], root)
    assert report["editorial"]["cut"] == "assembly@v001" and report["editorial"]["events"] == 2
    assert Path(report["editorial"]["turnover"], "assembly_v001_V1.edl").is_file()
    movie = report["editorial"]["reference"]
    assert movie["ffoa_frame"] - movie["two_pop_frame"] == 48 and Path(movie["output"]).is_file()
    assert report["catalogued"] == 8  # 4 camera clips + 4 sound files
    assert len(report["expected_damage"]) == 1 and not report["unexpected_damage"]
    synced = [s for s in report["sync"] if s["status"] == "synced"]
    assert len(synced) == 3 and not report["sync_errors"]
    assert all(
        abs(s["offset_samples"] - s["truth_offset_samples"]) <= 1 for s in synced if s["method"] == "waveform"
    )
    assert Path(report["dailies"]["report"]).is_file()
    assert len([o for o in report["dailies"]["outputs"] if o["review"]]) == 3
    assert (root / "project" / "turnovers" / "day01.ale").is_file()
    again = json.loads(runner.invoke(app, ["demo", "run", str(root), "--cluster", "local", "--json"]).stdout)
    assert again["ok"] and len(again["scan"]["unchanged"]) == 8 and not again["scan"]["added"]
    assert not again["offload"]["copied"]  # everything was already offloaded and verified
