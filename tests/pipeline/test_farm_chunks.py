"""Chunked jobs on a two-worker Dask LocalCluster: exact joins, resume after a kill, no-op re-runs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import numpy as np
import numpy.typing as npt
import opentimelineio as otio
import pytest

from conftest import make_movie
from posthouse.core.errors import MediaError, UsageError
from posthouse.core.jobs import DaskExecutor, SerialExecutor
from posthouse.core.progress import Cancelled, CancelToken
from posthouse.engine.render import render_timeline
from posthouse.pipeline.chunks import (
    FrameRange,
    encode_dcp_picture,
    join_segments,
    render_timeline_chunked,
    split_frames,
)
from posthouse.pipeline.farm import get_farm_executor, local_farm
from posthouse.pipeline.lineage import Lineage
from posthouse.pipeline.status import stage_status

glymur = pytest.importorskip("glymur")


@pytest.fixture(scope="module")
def farm() -> Iterator[DaskExecutor]:
    with local_farm(2, processes=False) as cluster, get_farm_executor(cluster) as ex:
        assert isinstance(ex, DaskExecutor)
        yield ex


def test_split_frames_covers_every_frame_once() -> None:
    for total in (1, 7, 48, 49, 100):
        for kw in ({"chunk_frames": 1}, {"chunk_frames": 24}, {"chunks": 3}, {"chunks": 200}):
            ranges = split_frames(total, **kw)  # type: ignore[arg-type]
            frames = [f for r in ranges for f in range(r.start, r.stop)]
            assert frames == list(range(total)), (total, kw)
    assert split_frames(10, chunks=3) == [FrameRange(0, 3), FrameRange(3, 6), FrameRange(6, 10)]
    with pytest.raises(UsageError):
        split_frames(10, chunk_frames=0)
    with pytest.raises(UsageError):
        split_frames(10)


# ------------------------------------------------------------------------------------------- render


def _rt(v: int, rate: int = 24) -> otio.opentime.RationalTime:
    return otio.opentime.RationalTime(v, rate)


def _clip(name: str, path: Path, tc: int, src_in: int, dur: int) -> otio.schema.Clip:
    ref = otio.schema.ExternalReference(
        target_url=path.as_uri(), available_range=otio.opentime.TimeRange(_rt(tc), _rt(40))
    )
    return otio.schema.Clip(
        name=name, media_reference=ref, source_range=otio.opentime.TimeRange(_rt(tc + src_in), _rt(dur))
    )


def _timeline(tmp_path: Path) -> otio.schema.Timeline:
    """Two shots with a dissolve across a chunk boundary, a title over them, and a sound track."""
    a = make_movie(tmp_path / "A.mov", frames=40, size=(160, 90))
    b = make_movie(tmp_path / "B.mov", frames=40, size=(160, 90), timecode="02:00:00:00")
    tl = otio.schema.Timeline(name="cut", global_start_time=_rt(86400))
    v1 = otio.schema.Track(name="V1")
    v1.append(_clip("A", a, 86400, 2, 14))
    v1.append(
        otio.schema.Transition(
            transition_type=otio.schema.TransitionTypes.SMPTE_Dissolve, in_offset=_rt(2), out_offset=_rt(3)
        )
    )
    v1.append(_clip("B", b, 172800, 5, 17))
    tl.tracks.append(v1)
    a1 = otio.schema.Track(name="A1", kind=otio.schema.TrackKind.Audio)
    a1.append(_clip("A", a, 86400, 0, 31))
    tl.tracks.append(a1)
    return tl


def _frames(path: Path) -> list[npt.NDArray[np.uint8]]:
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]


def _audio(path: Path) -> npt.NDArray[Any]:
    with av.open(str(path)) as c:
        return np.concatenate([f.to_ndarray() for f in c.decode(audio=0)], axis=1)


def _timecode(path: Path) -> str | None:
    with av.open(str(path)) as c:
        return c.streams.video[0].metadata.get("timecode")


def test_chunked_render_equals_single_pass_frame_for_frame(farm: DaskExecutor, tmp_path: Path) -> None:
    tl = _timeline(tmp_path)
    single = tmp_path / "single.mov"
    report = render_timeline(tl, single, preset="prores-hq")
    chunked = tmp_path / "chunked.mov"
    # 31 frames in 3 chunks of 11, 11, 9: the dissolve (frames 12-16) spans the first boundary
    result = render_timeline_chunked(tl, chunked, chunk_frames=11, executor=farm)
    assert result.state == "ran" and result.chunks == 3 and result.ran == [0, 1, 2]
    want, got = _frames(single), _frames(chunked)
    assert len(got) == len(want) == report.frames == result.frames == 31
    for i, (w, g) in enumerate(zip(want, got, strict=True)):
        assert np.array_equal(w, g), f"frame {i} differs"
    assert np.array_equal(_audio(single), _audio(chunked))
    assert _timecode(chunked) == _timecode(single) == "01:00:00:00"
    assert not (tmp_path / ".chunked.segments").exists()  # segments are removed after the join


def test_render_refuses_long_gop_presets_and_join_checks_frame_counts(tmp_path: Path) -> None:
    tl = _timeline(tmp_path)
    with pytest.raises(UsageError, match="intra-frame"):
        render_timeline_chunked(tl, tmp_path / "x.mp4", preset="h264", executor=SerialExecutor())
    seg = make_movie(tmp_path / "seg.mov", frames=5, audio_channels=0)
    with pytest.raises(MediaError, match="5 frames, expected 6") as info:
        join_segments([seg, seg], tmp_path / "joined.mov", expected=[5, 6], rate=24)
    assert str(seg) in str(info.value) and "segment 1" in str(info.value)
    assert not (tmp_path / "joined.mov").exists()
    assert join_segments([seg, seg], tmp_path / "joined.mov", expected=[5, 5], rate=24) == 10
    assert len(_frames(tmp_path / "joined.mov")) == 10


def test_unchanged_render_does_nothing_and_resumes_from_segments(farm: DaskExecutor, tmp_path: Path) -> None:
    tl = _timeline(tmp_path)
    out = tmp_path / "cut.mov"
    with Lineage(f"sqlite:///{tmp_path / 'catalog.db'}") as lineage:
        first = render_timeline_chunked(tl, out, chunk_frames=11, executor=farm, lineage=lineage)
        assert first.state == "ran"
        mtime = out.stat().st_mtime_ns
        again = render_timeline_chunked(tl, out, chunk_frames=11, executor=farm, lineage=lineage)
        assert again.state == "fresh" and out.stat().st_mtime_ns == mtime
        # a different size is a different render
        other = render_timeline_chunked(
            tl, out, size=(80, 44), chunk_frames=11, executor=farm, lineage=lineage
        )
        assert other.state == "ran" and _frames(out)[0].shape == (44, 80, 3)


# ---------------------------------------------------------------------------------------------- DCP


@pytest.fixture
def master(tmp_path: Path) -> Path:
    return make_movie(tmp_path / "master.mov", frames=24, size=(256, 144), audio_channels=0)


def _mtimes(folder: Path) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in sorted(folder.glob("[0-9]*.j2c"))}


class _CancelAfter:
    """A progress that sets the cancel token once ``k`` chunks have finished."""

    def __init__(self, token: CancelToken, k: int) -> None:
        self.token, self.k, self.done = token, k, 0

    def start(self, label: str, total: int | None) -> None:
        pass

    def advance(self, n: int = 1) -> None:
        self.done += n
        if self.done >= self.k:
            self.token.cancel()

    def finish(self) -> None:
        pass


def test_dcp_encode_cancelled_midway_resumes_without_redoing_chunks(catalog_url: str, master: Path) -> None:
    out = master.parent / "j2k"
    token = CancelToken()
    with Lineage(catalog_url) as lineage:
        # two chunks in flight at a time, so the cancel lands mid-way
        with (
            local_farm(2, processes=False) as cluster,
            DaskExecutor(cluster, max_in_flight=2) as ex,
            pytest.raises(Cancelled),
        ):
            encode_dcp_picture(
                master,
                out,
                chunk_frames=2,
                executor=ex,
                lineage=lineage,
                progress=_CancelAfter(token, 3),
                cancel=token,
            )
        # the cluster is closed: whatever was running has stopped; what finished is recorded
        recorded = lineage.chunks("dcp-picture", str(out))
        assert 3 <= len(recorded) < 12
        [row] = stage_status(lineage)
        assert row.state == "unfinished" and row.chunks_done == len(recorded)
        [job] = lineage.catalog.jobs()  # the job log (the cost report's farm hours) says how it ended
        assert (job.kind, job.state) == ("dcp-picture", "cancelled") and job.finished_at is not None
        before = _mtimes(out)
        with local_farm(2, processes=False) as cluster, get_farm_executor(cluster) as ex:
            result = encode_dcp_picture(master, out, chunk_frames=2, executor=ex, lineage=lineage)
        assert [j.state for j in lineage.catalog.jobs()] == ["cancelled", "done"]
        assert sorted(result.reused) == sorted(recorded)
        assert sorted(result.ran) == sorted(set(range(12)) - set(recorded))
        after = _mtimes(out)
        assert len(after) == 24
        for index in recorded:  # finished chunks' frames were not written again
            for frame in (2 * index, 2 * index + 1):
                name = f"{frame:06d}.j2c"
                assert after[name] == before[name]
        assert [s.state for s in stage_status(lineage)] == ["fresh"]
        # the frames decode (FFmpeg's own JPEG 2000 decoder) at the master's size
        with av.open(str(out / "000023.j2c")) as c:
            frame = next(c.decode(video=0))
            assert (frame.width, frame.height) == (256, 144)
        again = encode_dcp_picture(master, out, chunk_frames=2, executor=SerialExecutor(), lineage=lineage)
        assert again.state == "fresh" and _mtimes(out) == after
        # one byte of the master changed: the stage is stale and encodes everything again
        data = bytearray(master.read_bytes())
        data[-100] ^= 0xFF
        master.write_bytes(bytes(data))
        assert stage_status(lineage)[0].state == "stale"
        data[-100] ^= 0xFF
        master.write_bytes(bytes(data))
        assert stage_status(lineage)[0].state == "fresh"
        # another colour source: every frame is encoded again, none kept from the earlier settings
        redo = encode_dcp_picture(
            master, out, source="p3d65", chunk_frames=2, executor=SerialExecutor(), lineage=lineage
        )
        assert redo.state == "ran" and redo.ran == list(range(12)) and not redo.reused
        assert all(redo.info[i]["encoded"] == 2 for i in range(12))
        assert all(_mtimes(out)[name] != after[name] for name in after)


_KILL_SCRIPT = """
import sys
from posthouse.core.jobs import LocalExecutor
from posthouse.pipeline.chunks import encode_dcp_picture
from posthouse.pipeline.lineage import Lineage

if __name__ == "__main__":
    with Lineage(sys.argv[3]) as lineage, LocalExecutor(2) as ex:
        encode_dcp_picture(sys.argv[1], sys.argv[2], chunk_frames=2, executor=ex, lineage=lineage)
"""


def test_killed_encode_rerun_finishes_without_redoing_finished_chunks(tmp_path: Path) -> None:
    master = make_movie(tmp_path / "long.mov", frames=48, size=(640, 360), audio_channels=0)
    out, url = tmp_path / "j2k", f"sqlite:///{tmp_path / 'catalog.db'}"
    script = tmp_path / "encode.py"
    script.write_text(_KILL_SCRIPT)
    Lineage(url).close()  # schema in place before the child starts
    proc = subprocess.Popen([sys.executable, str(script), str(master), str(out), url], start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        with Lineage(url, upgrade=False) as lineage:
            while len(lineage.chunks("dcp-picture", str(out))) < 3:
                assert proc.poll() is None, "the encode ended before it could be killed"
                assert time.monotonic() < deadline
                time.sleep(0.01)
        os.killpg(proc.pid, signal.SIGKILL)  # the driver and its worker processes
    finally:
        proc.wait(timeout=30)
    with Lineage(url) as lineage:
        recorded = lineage.chunks("dcp-picture", str(out))
        assert len(recorded) < 24
        before = _mtimes(out)
        result = encode_dcp_picture(master, out, chunk_frames=2, executor=SerialExecutor(), lineage=lineage)
        assert sorted(result.reused) == sorted(recorded) and len(result.ran) == 24 - len(recorded)
        after = _mtimes(out)
        assert len(after) == 48
        assert not list(out.glob(".*")), "temporary files of the killed run are cleaned up"
        assert all(
            after[n] == before[n] for i in recorded for n in (f"{2 * i:06d}.j2c", f"{2 * i + 1:06d}.j2c")
        )
        # the killed run's farm time is still in the job log, up to its last finished chunk
        killed, rerun = lineage.catalog.jobs()
        assert (killed.state, rerun.state) == ("interrupted", "done")
        last_chunk = max(c.finished_at for c in recorded.values())
        assert killed.finished_at.replace(tzinfo=None) == last_chunk.replace(tzinfo=None)


# ------------------------------------------------------------------------------------------ dailies


def _take(picture: Path, n: int) -> Any:
    from fractions import Fraction

    from posthouse.picture.dailies import DailiesTake

    return DailiesTake(
        take=f"1A-{n}",
        picture=picture,
        sound=None,
        offset_samples=None,
        drift_ppm=None,
        scene="1A",
        take_number=str(n),
        camera="A",
        clip=picture.stem,
        circled=False,
        start_timecode="01:00:00:00",
        rate=Fraction(24),
        sound_timecode=None,
        sync_method=None,
        confidence=None,
        status="unsynced",
    )


def test_dailies_batch_on_the_farm_one_take_per_task(farm: DaskExecutor, tmp_path: Path) -> None:
    from posthouse.pipeline.farm import farm_dailies

    takes = [_take(make_movie(tmp_path / f"A001C00{n}.mov", frames=8), n) for n in (1, 2, 3)]
    with Lineage(f"sqlite:///{tmp_path / 'catalog.db'}") as lineage:
        outputs = farm_dailies(takes, tmp_path / "dailies", executor=farm, lineage=lineage)
        assert [o.error for o in outputs] == [None, None, None]
        assert all(o.review is not None and len(_frames(o.review)) == 8 for o in outputs)
        assert [s.state for s in stage_status(lineage, stage="dailies")] == ["fresh"] * 3
        again = farm_dailies(takes, tmp_path / "dailies", executor=farm, lineage=lineage)
        assert all(o.skipped for o in again)
        make_movie(takes[1].picture, frames=9)  # the camera file was replaced
        assert [s.state for s in stage_status(lineage, stage="dailies")] == ["fresh", "stale", "fresh"]


# ----------------------------------------------------------------------------------------------- QC


def test_qc_batch_on_the_farm_checks_only_changed_files(farm: DaskExecutor, tmp_path: Path) -> None:
    from posthouse.pipeline.farm import farm_qc

    files = [make_movie(tmp_path / f"M{n}.mov", frames=12) for n in (1, 2)]
    bad = tmp_path / "bad.mov"
    bad.write_bytes(b"not a movie" * 20)
    with Lineage(f"sqlite:///{tmp_path / 'catalog.db'}") as lineage:
        first = farm_qc([*files, bad], tmp_path / "qc", executor=farm, lineage=lineage)
        assert [e.get("fresh") for e in first] == [False, False, None]
        assert "error" in first[2] and str(bad) in first[2]["path"]
        assert all(Path(e["json"]).is_file() and Path(e["html"]).is_file() for e in first[:2])
        make_movie(files[1], frames=13)
        again = farm_qc(files, tmp_path / "qc", executor=farm, lineage=lineage)
        assert [e["fresh"] for e in again] == [True, False]
        assert again[0]["result"] == first[0]["result"] in ("pass", "fail")
