"""Streaming deliverables: HLS/DASH CMAF ladders from a tiny master, checked by decoding every segment."""

from __future__ import annotations

import io
import itertools
import json
import re
import xml.etree.ElementTree as ET
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
import soundfile as sf
import typer
from typer.testing import CliRunner

from posthouse.core.errors import MediaError, UsageError
from posthouse.core.media import VideoWriter, probe
from posthouse.finish.ladder import default_ladder, load_ladder, parse_ladder
from posthouse.finish.streaming import (
    StreamingResult,
    codec_string,
    make_mezzanine,
    package_streaming,
    parse_attributes,
    parse_media_playlist,
    read_subtitles,
    validate_hls,
)

W, H, FPS, SECONDS = 320, 180, 24, 6
HEVC = "libx265" in av.codecs_available
LADDER = {
    "name": "test",
    "segment_seconds": 2,
    "idr_seconds": 1,
    "codecs": ["h264", "hevc"],
    "preset": "veryfast",
    "rungs": [
        {"bitrate_kbps": 150, "width": 256, "height": 144},
        {"bitrate_kbps": 300, "width": 320, "height": 180},
    ],
}
SRT = "1\n00:00:00,500 --> 00:00:02,500\nHello there.\n\n2\n00:00:03,000 --> 00:00:05,200\nTwo\nlines.\n"


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("streaming")
    yy, xx = np.mgrid[0:H, 0:W]
    with VideoWriter(
        d / "master.mov",
        width=W,
        height=H,
        rate=Fraction(FPS),
        preset="prores-hq",
        start_timecode="01:00:00:00",
    ) as w:
        for i in range(FPS * SECONDS):
            img = np.zeros((H, W, 3), np.uint8)
            img[..., 0] = (xx * 2 + i * 3) % 256
            img[..., 1] = (yy + i) % 256
            img[..., 2] = ((i // 13) % 2) * 255  # hard cuts every 13 frames: scene cuts must not add IDRs
            w.write_frame(img)
    t = np.arange(48000 * SECONDS) / 48000
    tone = np.stack([0.1 * np.sin(2 * np.pi * 440 * t), 0.1 * np.sin(2 * np.pi * 660 * t)], 1)
    sf.write(d / "mix.wav", tone, 48000, subtype="PCM_24")
    (d / "subs.srt").write_text(SRT, encoding="utf-8")
    return d


@pytest.fixture(scope="module")
def result(media: Path) -> StreamingResult:
    return package_streaming(
        media / "master.mov",
        media / "mix.wav",
        media / "out",
        ladder=parse_ladder(LADDER),
        subtitles=media / "subs.srt",
    )


def test_hls_playlists_parse_and_every_segment_decodes(result: StreamingResult) -> None:
    check = validate_hls(result.master_playlist)
    assert check.ok, check.problems
    n_video = 4 if HEVC else 2
    assert check.variants == n_video
    assert all(n == FPS * SECONDS for n in check.frames_decoded.values())  # every frame of every rung
    # 3 segments per video rendition + 3 WebVTT + the audio's (AAC priming can add a short 4th)
    audio_segs = len(parse_media_playlist(result.master_playlist.parent / "audio" / "index.m3u8").segments)
    assert audio_segs in (3, 4)
    assert check.segments_decoded == 3 * n_video + 3 + audio_segs
    assert check.audio_samples >= 48000 * SECONDS


def test_ffmpeg_hls_demuxer_reads_the_whole_ladder(result: StreamingResult) -> None:
    """An independent reader: FFmpeg's own HLS demuxer opens the master playlist and decodes every variant."""
    with av.open(str(result.master_playlist)) as c:
        kinds = sorted(s.type for s in c.streams)
        assert kinds == ["audio", "subtitle"] + ["video"] * len(result.renditions)
        frames = sum(1 for f in c.decode(*c.streams.video))
    assert frames == len(result.renditions) * FPS * SECONDS


def test_idrs_align_across_rungs_at_segment_starts(result: StreamingResult) -> None:
    check = validate_hls(result.master_playlist)
    assert check.idr_aligned
    times = list(check.idr_times.values())
    assert len(times) == (4 if HEVC else 2)
    starts = times[0]
    assert [round(b - a, 3) for a, b in itertools.pairwise(starts)] == [2.0, 2.0]
    # inside the segments: a keyframe exactly every second (idr_seconds), none at the picture cuts
    for rend in result.renditions:
        folder = result.master_playlist.parent / rend.name
        pl = parse_media_playlist(folder / "index.m3u8")
        assert pl.init is not None
        keys: list[int] = []
        for uri, _ in pl.segments:
            data = (folder / pl.init).read_bytes() + (folder / uri).read_bytes()
            with av.open(io.BytesIO(data), format="mp4") as c:
                for pkt in c.demux(c.streams.video[0]):
                    if pkt.is_keyframe and pkt.pts is not None:
                        keys.append(round(float(pkt.pts * pkt.time_base) * FPS))
        assert np.all(np.diff(sorted(keys)) == FPS), (rend.name, keys)


def test_master_playlist_attributes(result: StreamingResult) -> None:
    text = result.master_playlist.read_text()
    media = [
        parse_attributes(ln.split(":", 1)[1]) for ln in text.splitlines() if ln.startswith("#EXT-X-MEDIA:")
    ]
    assert {m["TYPE"] for m in media} == {"AUDIO", "SUBTITLES"}
    subs = next(m for m in media if m["TYPE"] == "SUBTITLES")
    assert subs["URI"].endswith(".m3u8") and subs["LANGUAGE"] == "en"
    infs = [
        parse_attributes(ln.split(":", 1)[1])
        for ln in text.splitlines()
        if ln.startswith("#EXT-X-STREAM-INF:")
    ]
    for inf in infs:
        assert int(inf["BANDWIDTH"]) >= int(inf["AVERAGE-BANDWIDTH"]) > 0
        assert re.fullmatch(r"(avc1\.[0-9a-f]{6}|hvc1\.[\w.]+),mp4a\.40\.2", inf["CODECS"])
        assert inf["FRAME-RATE"] == "24.000" and inf["AUDIO"] == "aac" and inf["SUBTITLES"] == "subs"
    assert {inf["RESOLUTION"] for inf in infs} == {"256x144", "320x180"}
    # average video bitrate lands near the rung's target (x264 ABR on 6 s of synthetic picture)
    for rend in result.renditions:
        assert 0.5 < rend.average_bps / (rend.bitrate_kbps * 1000) < 1.6, rend
    vtt = (result.master_playlist.parent / subs["URI"]).parent / "seg_00000.vtt"
    assert vtt.read_text().startswith("WEBVTT") and "Hello there." in vtt.read_text()


@pytest.mark.skipif(not HEVC, reason="PyAV's FFmpeg has no libx265")
def test_hevc_renditions_are_main10_hvc1(result: StreamingResult) -> None:
    hevc = [r for r in result.renditions if r.codec == "hevc"]
    assert len(hevc) == 2 and all(r.codecs.startswith("hvc1.2.4.") for r in hevc)  # Main10
    init = result.master_playlist.parent / hevc[0].name / "init.mp4"
    with av.open(str(init)) as c:
        assert c.streams.video[0].codec_context.name == "hevc"
    assert b"hvc1" in init.read_bytes()


def test_dash_mpd_lists_every_representation_and_segments_decode(result: StreamingResult) -> None:
    ns = {"d": "urn:mpeg:dash:schema:mpd:2011"}
    root = ET.parse(result.mpd).getroot()
    reps = root.findall(".//d:Representation", ns)
    codecs = [r.get("codecs") for r in reps]
    assert all(codecs[:-1]), codecs  # no empty codec strings (FFmpeg leaves HEVC's empty)
    assert "mp4a.40.2" in codecs
    text_sets = [a for a in root.findall(".//d:AdaptationSet", ns) if a.get("contentType") == "text"]
    assert text_sets and (result.mpd.parent / "subs_en.vtt").read_text().startswith("WEBVTT")
    folder = result.mpd.parent
    for rep in reps:
        rid = rep.get("id")
        if rid is None or rid.startswith("subs"):
            continue
        chunks = sorted(folder.glob(f"chunk-{rid}-*.m4s"))
        n = len(chunks)
        assert n == 3 if rep.get("mimeType") == "video/mp4" else n in (3, 4)  # AAC priming: maybe a 4th
        init = next(folder.glob(f"init-{rid}.*"))
        for chunk in chunks:
            with av.open(io.BytesIO(init.read_bytes() + chunk.read_bytes()), format="mp4") as c:
                assert sum(1 for _ in c.decode(c.streams[0])) > 0


def test_strict_parser_rejects_broken_playlists(tmp_path: Path) -> None:
    bad = tmp_path / "bad.m3u8"
    bad.write_text("#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:5.0,\nseg.m4s\n#EXT-X-ENDLIST\n")
    with pytest.raises(MediaError, match="target duration"):
        parse_media_playlist(bad)
    bad.write_text("#EXT-X-TARGETDURATION:2\n")
    with pytest.raises(MediaError, match="EXTM3U"):
        parse_media_playlist(bad)
    with pytest.raises(MediaError, match="malformed"):
        parse_attributes('BANDWIDTH=1,CODECS="avc1')
    master = tmp_path / "master.m3u8"
    master.write_text(
        '#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1,CODECS="avc1.640028",RESOLUTION=2x2,AUDIO="x"\nv.m3u8\n'
    )
    check = validate_hls(master)
    assert not check.ok and any("AUDIO group" in p for p in check.problems)


def test_ladder_data(tmp_path: Path) -> None:
    lad = default_ladder()
    assert [(r.bitrate_kbps, r.width, r.height) for r in lad.rungs][:2] == [(145, 416, 234), (365, 480, 270)]
    assert len(lad.rungs) == 9 and lad.segment_seconds == 6 and lad.idr_seconds == 2
    assert lad.codecs == ("h264", "hevc")
    f = tmp_path / "l.toml"
    f.write_text(
        "segment_seconds = 5\nidr_seconds = 2\n[[rungs]]\nbitrate_kbps = 100\nwidth = 320\nheight = 180\n"
    )
    with pytest.raises(UsageError, match="multiple"):
        load_ladder(f)
    assert codec_string("h264", bytes([1, 0x64, 0, 0x1F, 0xFF])) == "avc1.64001f"


def test_subtitles_srt_and_vtt(tmp_path: Path) -> None:
    srt = tmp_path / "a.srt"
    srt.write_text(SRT)
    cues = read_subtitles(srt)
    assert cues[0] == (0.5, 2.5, "Hello there.") and cues[1][2] == "Two\nlines."
    vtt = tmp_path / "a.vtt"
    vtt.write_text("WEBVTT\n\n00:01.000 --> 00:02.000 align:start\nHi\n")
    assert read_subtitles(vtt) == [(1.0, 2.0, "Hi")]


def test_mezzanine_is_prores_hq_with_the_mix(media: Path, tmp_path: Path) -> None:
    out = make_mezzanine(media / "master.mov", media / "mix.wav", tmp_path / "mezz.mov")
    info = probe(out)
    v = info.video[0]
    assert (v.codec, v.profile, v.pix_fmt, v.frames) == ("prores", "HQ", "yuv422p10le", FPS * SECONDS)
    assert info.start_timecode == "01:00:00:00"
    assert info.audio[0].channels == 2 and info.audio[0].samples == 48000 * SECONDS


def test_cli_streaming_json(media: Path, tmp_path: Path) -> None:
    from posthouse.cli import deliver_streaming

    app = typer.Typer()
    app.command("streaming")(deliver_streaming.streaming)
    app.command("mezzanine")(deliver_streaming.mezzanine)
    lad = tmp_path / "ladder.toml"
    lad.write_text(
        'codecs = ["h264"]\npreset = "ultrafast"\nsegment_seconds = 2\nidr_seconds = 2\n'
        "[[rungs]]\nbitrate_kbps = 200\nwidth = 320\nheight = 180\n"
        "[[rungs]]\nbitrate_kbps = 900\nwidth = 640\nheight = 360\n"  # larger than the master: skipped
    )
    out = tmp_path / "cli"
    r = CliRunner().invoke(
        app,
        [
            "streaming",
            str(media / "master.mov"),
            "--audio",
            str(media / "mix.wav"),
            "--ladder",
            str(lad),
            "--out",
            str(out),
            "--json",
        ],
    )
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data["validation"]["ok"] and len(data["renditions"]) == 1 and data["skipped"]
    assert (out / "hls" / "master.m3u8").is_file() and (out / "dash" / "manifest.mpd").is_file()
    assert not list(tmp_path.glob(".cli.partial-*"))
    r = CliRunner().invoke(
        app, ["mezzanine", str(media / "master.mov"), "--out", str(tmp_path / "m.mov"), "--json"]
    )
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["video"][0]["profile"] == "HQ"


def test_missing_mix_is_a_usage_error(media: Path, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="mix"):
        package_streaming(
            media / "master.mov", tmp_path / "nope.wav", tmp_path / "o", ladder=parse_ladder(LADDER)
        )
    assert not (tmp_path / "o").exists()


def test_without_libx265_hevc_is_reported_not_fatal(
    media: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import posthouse.finish.streaming as streaming

    monkeypatch.setattr(streaming, "hevc_available", lambda: False)
    lad = parse_ladder({**LADDER, "preset": "ultrafast", "rungs": LADDER["rungs"][:1]})
    res = package_streaming(media / "master.mov", media / "mix.wav", tmp_path / "o", ladder=lad)
    assert [r.codec for r in res.renditions] == ["h264"] and not res.hevc_available
    assert any("libx265" in s for s in res.skipped)
    assert validate_hls(res.master_playlist).ok


def test_validation_catches_planted_faults(result: StreamingResult, tmp_path: Path) -> None:
    import shutil

    hls = tmp_path / "hls"
    shutil.copytree(result.master_playlist.parent, hls)
    name = result.renditions[0].name
    pl = hls / name / "index.m3u8"
    lines = pl.read_text().splitlines()
    i = lines.index("seg_00000.m4s")
    pl.write_text("\n".join(lines[: i - 1] + lines[i + 1 :]) + "\n")  # a rendition that starts 2 s late
    check = validate_hls(hls / "master.m3u8")
    assert not check.idr_aligned and any("not aligned" in p for p in check.problems)
    shutil.rmtree(hls)
    shutil.copytree(result.master_playlist.parent, hls)
    seg = hls / result.renditions[-1].name / "seg_00001.m4s"
    seg.write_bytes(seg.read_bytes()[:200])  # truncated
    check = validate_hls(hls / "master.m3u8")
    assert not check.ok and any("seg_00001.m4s" in p for p in check.problems)


def _dominant_hz(pcm: np.ndarray, rate: int) -> float:
    spec = np.abs(np.fft.rfft(pcm * np.hanning(len(pcm))))
    return float(np.argmax(spec) * rate / len(pcm))


def test_alternate_languages_are_extra_renditions_in_the_audio_group(media: Path, tmp_path: Path) -> None:
    t = np.arange(48000 * SECONDS - 1000) / 48000  # ~21 ms short: within a frame (41.7 ms) of the mix
    for lang, hz in (("fr", 550), ("de", 330)):
        sf.write(
            tmp_path / f"film_PM_20_{lang}.wav", np.stack([0.1 * np.sin(2 * np.pi * hz * t)] * 2, 1), 48000
        )
    lad = parse_ladder({**LADDER, "codecs": ["h264"], "preset": "ultrafast", "rungs": LADDER["rungs"][1:]})
    res = package_streaming(
        media / "master.mov",
        media / "mix.wav",
        tmp_path / "out",
        ladder=lad,
        alternate_audio={"fr": tmp_path / "film_PM_20_fr.wav", "de": tmp_path / "film_PM_20_de.wav"},
    )
    assert [(a.name, a.language) for a in res.alternate_audio] == [("audio_fr", "fr"), ("audio_de", "de")]
    assert res.to_dict()["alternate_audio"][0]["language"] == "fr"
    text = res.master_playlist.read_text(encoding="utf-8")
    media_tags = [
        parse_attributes(ln.split(":", 1)[1]) for ln in text.splitlines() if ln.startswith("#EXT-X-MEDIA:")
    ]
    audio = [
        (m["LANGUAGE"], m["NAME"], m["DEFAULT"], m["GROUP-ID"]) for m in media_tags if m["TYPE"] == "AUDIO"
    ]
    assert audio == [
        ("en", "English", "YES", "aac"),
        ("fr", "Français", "NO", "aac"),
        ("de", "Deutsch", "NO", "aac"),
    ]
    check = validate_hls(res.master_playlist)
    assert check.ok, check.problems
    secs = check.audio_seconds
    assert set(secs) == {"audio/index.m3u8", "audio_fr/index.m3u8", "audio_de/index.m3u8"}
    assert max(secs.values()) - min(secs.values()) <= 1 / FPS
    # same segment timeline in every language: the segment durations match the original's
    durs = [
        [round(d, 3) for _, d in parse_media_playlist(res.master_playlist.parent / u).segments] for u in secs
    ]
    assert durs[0] == durs[1] == durs[2]
    # an independent reader: FFmpeg's HLS demuxer sees three audio languages, each carrying its own mix
    with av.open(str(res.master_playlist)) as c:
        langs = [s.metadata.get("language") for s in c.streams.audio]
        assert langs == ["en", "fr", "de"]
        pcm: dict[str, list[np.ndarray]] = {lang: [] for lang in langs}
        streams = {s.index: s.metadata["language"] for s in c.streams.audio}
        for pkt in c.demux(*c.streams.audio):
            for frame in pkt.decode():
                pcm[streams[pkt.stream.index]].append(frame.to_ndarray()[0])
    hz = {lang: _dominant_hz(np.concatenate(v)[:48000], 48000) for lang, v in pcm.items()}
    assert abs(hz["en"] - 440) < 5 and abs(hz["fr"] - 550) < 5 and abs(hz["de"] - 330) < 5, hz
    # DASH: one audio AdaptationSet per language
    ns = {"d": "urn:mpeg:dash:schema:mpd:2011"}
    sets = [a for a in ET.parse(res.mpd).getroot().findall(".//d:AdaptationSet", ns)]
    assert [a.get("lang") for a in sets if a.get("contentType") == "audio"] == ["en", "fr", "de"]
    # a dub whose rendition is cut short is caught by the validation
    pl = res.master_playlist.parent / "audio_fr" / "index.m3u8"
    lines = pl.read_text().splitlines()
    i = lines.index("seg_00001.m4s")  # a whole 2 s segment missing
    pl.write_text("\n".join(lines[: i - 1] + lines[i + 1 :]) + "\n")
    check = validate_hls(res.master_playlist)
    assert any("audio_fr" in p and "more than a frame" in p for p in check.problems), check.problems


def test_mismatched_dub_mixes_are_rejected_naming_the_file(media: Path, tmp_path: Path) -> None:
    n = 48000 * SECONDS
    tone = 0.1 * np.sin(2 * np.pi * 550 * np.arange(n + 48000 // FPS * 2) / 48000)
    sf.write(tmp_path / "fr_44k.wav", np.stack([tone[: 44100 * SECONDS]] * 2, 1), 44100)
    sf.write(tmp_path / "fr_mono.wav", tone[:n], 48000)
    sf.write(tmp_path / "fr_long.wav", np.stack([tone] * 2, 1), 48000)  # two frames too long
    sf.write(tmp_path / "fr_ok.wav", np.stack([tone[:n]] * 2, 1), 48000)
    lad = parse_ladder(LADDER)
    for name, match in (
        ("fr_44k.wav", "44100 Hz"),
        ("fr_mono.wav", "stereo"),
        ("fr_long.wav", "more than a frame"),
    ):
        with pytest.raises(MediaError, match=match) as err:
            package_streaming(
                media / "master.mov",
                media / "mix.wav",
                tmp_path / "o",
                ladder=lad,
                alternate_audio={"fr": tmp_path / name},
            )
        assert name in str(err.value)
    with pytest.raises(UsageError, match="main mix's language"):
        package_streaming(
            media / "master.mov",
            media / "mix.wav",
            tmp_path / "o",
            ladder=lad,
            alternate_audio={"en": tmp_path / "fr_ok.wav"},
        )
    assert not (tmp_path / "o").exists() and not list(tmp_path.glob(".o.partial-*"))
    from posthouse.cli import deliver_streaming

    app = typer.Typer()
    app.command("streaming")(deliver_streaming.streaming)
    app.command("mezzanine")(deliver_streaming.mezzanine)
    base = [
        "streaming",
        str(media / "master.mov"),
        "--audio",
        str(media / "mix.wav"),
        "--out",
        str(tmp_path / "o"),
    ]
    r = CliRunner().invoke(app, [*base, "--alternate-audio", "fr"])
    assert r.exit_code != 0 and "LANG=FILE.wav" in r.output
    r = CliRunner().invoke(app, [*base, "--alternate-audio", f"fr={tmp_path / 'fr_mono.wav'}"])
    assert r.exit_code != 0 and "fr_mono.wav" in r.output and "stereo" in r.output
