"""DCP packaging: ISDCF names, the XML documents, ST 428-7 subtitles, sound blocks, and whole DCPs (OV + VF)
checked by ClairMeta, re-read by PyAV/FFmpeg and hashed independently."""

from __future__ import annotations

import base64
import hashlib
import io
import os
import re
import uuid
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from clairmeta_check import clairmeta_check
from posthouse.core.errors import MediaError, UsageError
from posthouse.core.progress import Cancelled, CancelToken
from posthouse.finish.dcp import (
    container_size,
    dcp_rate,
    fit_in_container,
    make_dcp,
    make_version_file,
    read_ov,
    reel_ranges,
    sound_blocks,
)
from posthouse.finish.dcp_naming import IsdcfName, isdcf_title, parse_isdcf_name
from posthouse.finish.dcp_picture import xyz12_to_rgb
from posthouse.finish.dcp_subtitle import DEFAULT_FONT, dcp_subtitles, edit_units_timecode, load_font
from posthouse.finish.dcp_xml import (
    AssetMapEntry,
    Cpl,
    CplAsset,
    CplMetadata,
    CplReel,
    PklAsset,
    assetmap_xml,
    cpl_xml,
    file_sha1_b64,
    pkl_xml,
    volindex_xml,
)
from posthouse.finish.subtitle_formats import parse_srt

CPL = "{http://www.smpte-ra.org/schemas/429-7/2006/CPL}"
PKL = "{http://www.smpte-ra.org/schemas/429-8/2007/PKL}"
AM = "{http://www.smpte-ra.org/schemas/429-9/2007/AM}"
DCST = "{http://www.smpte-ra.org/schemas/428-7/2014/DCST}"

FPS = 24
FRAMES = 24
W, H = 320, 180  # 16:9 master → 1998×1080 flat with pillarbox bars
# (name, RGB 8-bit, (x0, y0, x1, y1)) patches of the master frame
PATCHES = [
    ("grey", (128, 128, 128), (0, 0, 160, 90)),
    ("red", (200, 40, 40), (160, 0, 320, 90)),
    ("green", (40, 180, 60), (0, 90, 160, 180)),
    ("blue", (50, 70, 210), (160, 90, 320, 180)),
]
SRT = """1
00:00:00,250 --> 00:00:00,625
Hello, cinema!

2
00:00:00,667 --> 00:00:00,958
<i>Second line</i>
"""


def _needs_font() -> None:
    if not DEFAULT_FONT.is_file():
        pytest.skip("fonts-dejavu-core is not installed")


def _master_frame(index: int) -> np.ndarray:
    img = np.zeros((H, W, 3), np.uint8)
    for _, rgb, (x0, y0, x1, y1) in PATCHES:
        img[y0:y1, x0:x1] = rgb
    img[0:4, (index * 8) % W : (index * 8) % W + 8] = 255  # a moving marker: frames differ
    return img


def _write_master(path: Path, frames: int = FRAMES, fps: Fraction | int = FPS) -> None:
    import av

    with av.open(str(path), "w") as out:
        st = out.add_stream("png", rate=Fraction(fps))
        st.width, st.height, st.pix_fmt = W, H, "rgb24"
        for i in range(frames):
            vf = av.VideoFrame.from_ndarray(_master_frame(i), format="rgb24")
            vf.pts = i
            for pkt in st.encode(vf):
                out.mux(pkt)
        for pkt in st.encode():
            out.mux(pkt)


def _printmaster(path: Path, seconds: float, channels: int = 6, seed: int = 1) -> np.ndarray:
    """24-bit 48 kHz noise with a distinct level per channel and a click on channel 0 at 0.5 s."""
    rng = np.random.default_rng(seed)
    n = int(48000 * seconds)
    data = (rng.standard_normal((n, channels)) * 2**19).astype(np.int64)
    data[:, :] //= np.arange(1, channels + 1)
    data[24000, 0] = 2**23 - 1
    data = np.clip(data, -(2**23), 2**23 - 1).astype(np.int32)
    sf.write(str(path), data << 8, 48000, subtype="PCM_24")
    return data


# --------------------------------------------------------------------------------------------- naming


def test_isdcf_round_trip() -> None:
    text = "FilmTitle_FTR-1_F_EN-XX_US-13_51_2K_STUDIO_20261124_FAC_SMPTE_OV"
    name = parse_isdcf_name(text)
    assert (name.title, name.kind, name.version, name.aspect) == ("FilmTitle", "FTR", 1, "F")
    assert (name.audio_language, name.subtitle_language, name.territory, name.rating) == (
        "EN",
        "XX",
        "US",
        "13",
    )
    assert name.date == date(2026, 11, 24) and name.package == "OV" and name.content_kind == "feature"
    assert name.build() == text
    built = IsdcfName(
        title=isdcf_title("La Dernière Image!"),
        kind="TLR",
        aspect="S",
        audio_language="FR",
        subtitle_language="EN",
        territory="FR",
        audio="20",
        studio="ABC",
        facility="PH",
        date=date(2026, 1, 2),
        package="VF",
    ).build()
    assert built == "LaDerniereImag_TLR-1_S_FR-EN_FR_20_2K_ABC_20260102_PH_SMPTE_VF"
    assert parse_isdcf_name(built).content_kind == "trailer"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("Film_FTR_F_EN-XX_US_51_2K_ST_20261124_FAC_SMPTE", "11 fields"),
        ("Film Title_FTR_F_EN-XX_US_51_2K_ST_20261124_FAC_SMPTE_OV", "title"),
        ("AVeryLongFilmTitle_FTR_F_EN-XX_US_51_2K_ST_20261124_FAC_SMPTE_OV", "title"),
        ("Film_FEA_F_EN-XX_US_51_2K_ST_20261124_FAC_SMPTE_OV", "content type"),
        ("Film_FTR_W_EN-XX_US_51_2K_ST_20261124_FAC_SMPTE_OV", "aspect"),
        ("Film_FTR_F_EN_US_51_2K_ST_20261124_FAC_SMPTE_OV", "language"),
        ("Film_FTR_F_EN-XX_US_52_2K_ST_20261124_FAC_SMPTE_OV", "audio"),
        ("Film_FTR_F_EN-XX_US_51_3K_ST_20261124_FAC_SMPTE_OV", "resolution"),
        ("Film_FTR_F_EN-XX_US_51_2K_ST_20261332_FAC_SMPTE_OV", "calendar date"),
        ("Film_FTR_F_EN-XX_US_51_2K_ST_20261124_FAC_SMPTE_XX", "package type"),
    ],
)
def test_bad_isdcf_names_say_why(text: str, reason: str) -> None:
    with pytest.raises(UsageError, match=reason):
        parse_isdcf_name(text)


# ----------------------------------------------------------------------------------------------- XML


def _validate(xml: bytes, tmp_path: Path) -> None:
    """Validate with ClairMeta's shipped XSDs (through its own catalog, with lxml)."""
    from clairmeta.utils.xml import validate_xml

    ns = re.search(rb'xmlns="([^"]+)"', xml)
    assert ns
    path = tmp_path / f"doc_{uuid.uuid4().hex}.xml"
    path.write_bytes(xml)
    validate_xml(str(path), ns.group(1).decode())  # raises on any schema error


def test_xml_documents_validate_against_smpte_schemas(tmp_path: Path) -> None:
    pic = CplAsset("picture", uuid.uuid4(), Fraction(24), 48, hash="qqqqqqqqqqqqqqqqqqqqqqqqqqo=")
    snd = CplAsset("sound", uuid.uuid4(), Fraction(24), 48, language="en")
    sub = CplAsset("subtitle", uuid.uuid4(), Fraction(24), 48, language="fr")
    cpl = Cpl(
        uuid.uuid4(),
        "Film_FTR-1_F_EN-FR_US-13_51_2K_PH_20261124_PH_SMPTE_OV",
        "feature",
        (CplReel(uuid.uuid4(), pic, snd, sub),),
        datetime(2026, 11, 24, 12, tzinfo=UTC),
        ratings=(("http://www.mpaa.org/2003-ratings", "PG-13"),),
        metadata=CplMetadata(
            "Film", subtitle_languages=("fr",), release_territory="US", active_area=(1920, 1080)
        ),
    )
    doc = cpl_xml(cpl)
    _validate(doc, tmp_path)
    root = ET.fromstring(doc)
    reel = root.find(f"{CPL}ReelList/{CPL}Reel/{CPL}AssetList")
    assert reel is not None
    assert reel.findtext(f"{CPL}MainPicture/{CPL}ScreenAspectRatio") == "1998 1080"
    assert reel.findtext(f"{CPL}MainPicture/{CPL}FrameRate") == "24 1"
    meta = "{http://www.smpte-ra.org/schemas/429-16/2014/CPL-Metadata}"
    assert (
        reel.findtext(f"{meta}CompositionMetadataAsset/{meta}MainSoundConfiguration") == "51/L,R,C,LFE,Ls,Rs"
    )
    labels = [m.findtext(f"{CPL}Label") for m in reel.iter(f"{CPL}Marker")]
    assert labels == ["FFOC", "LFOC"]

    a = PklAsset(uuid.uuid4(), "qqqqqqqqqqqqqqqqqqqqqqqqqqo=", 10, "application/mxf", "a.mxf")
    _validate(pkl_xml(uuid.uuid4(), [a], annotation="x", issue_date=datetime.now(UTC)), tmp_path)
    entries = [AssetMapEntry(uuid.uuid4(), "PKL.xml", 10, True), AssetMapEntry(a.id, "a.mxf", 10)]
    _validate(assetmap_xml(uuid.uuid4(), entries, annotation="x", issue_date=datetime.now(UTC)), tmp_path)
    _validate(volindex_xml(), tmp_path)


def test_sha1_hash_matches_hashlib(tmp_path: Path) -> None:
    f = tmp_path / "blob.bin"
    f.write_bytes(os.urandom(3 << 20))
    assert file_sha1_b64(f) == base64.b64encode(hashlib.sha1(f.read_bytes()).digest()).decode()


# ------------------------------------------------------------------------------------------ subtitles


def test_subtitle_xml_validates_and_times_match_srt(tmp_path: Path) -> None:
    _needs_font()
    track = parse_srt(SRT, language="en", rate=24)
    rendered = dcp_subtitles(track, edit_rate=24, duration=24, title="Film")
    _validate(rendered.xml, tmp_path)
    root = ET.fromstring(rendered.xml)
    assert root.findtext(f"{DCST}Id") == f"urn:uuid:{rendered.resource_id}"
    assert root.findtext(f"{DCST}LoadFont") == f"urn:uuid:{rendered.font_id}"
    subs = list(root.iter(f"{DCST}Subtitle"))
    # 0.250 s = frame 6, 0.625 s = frame 15; 0.667 s = frame 16, 0.958 s = frame 23 (to the frame)
    assert [(s.get("TimeIn"), s.get("TimeOut")) for s in subs] == [
        ("00:00:00:06", "00:00:00:15"),
        ("00:00:00:16", "00:00:00:23"),
    ]
    texts = ["".join(t.itertext()) for t in root.iter(f"{DCST}Text")]
    assert texts == ["Hello, cinema!", "Second line"]
    assert len(rendered.font) <= 640 * 1024  # DejaVu Sans (742 KiB) subset to fit a DCP
    from fontTools.ttLib import TTFont

    cmap = TTFont(io.BytesIO(rendered.font)).getBestCmap()
    assert all(ord(c) in cmap for c in "Hello, cinema! Second lineé")


def test_subtitle_times_of_a_23976_master_keep_their_frames() -> None:
    _needs_font()
    track = parse_srt("1\n00:01:00,060 --> 00:01:02,000\nx\n", language="en", rate=Fraction(24000, 1001))
    rendered = dcp_subtitles(
        track, edit_rate=24, duration=24 * 120, source_rate=Fraction(24000, 1001), title="Film"
    )
    root = ET.fromstring(rendered.xml)
    sub = next(root.iter(f"{DCST}Subtitle"))
    # 60.06 s at 23.976 is frame 1440 → 00:01:00:00 at 24; 62 s → frame 1486.5 → 1487 (nearest)
    assert sub.get("TimeIn") == "00:01:00:00"
    assert sub.get("TimeOut") == edit_units_timecode(1487, 24)


def test_subtitles_of_a_second_reel_count_from_its_start() -> None:
    _needs_font()
    srt = "1\n00:00:01,500 --> 00:00:02,500\nacross the cut\n\n2\n00:00:03,000 --> 00:00:03,500\nlater\n"
    track = parse_srt(srt, language="en", rate=24)
    reel2 = dcp_subtitles(track, edit_rate=24, duration=48, offset=48, reel_number=2, title="Film")
    root = ET.fromstring(reel2.xml)
    assert root.findtext(f"{DCST}ReelNumber") == "2"
    times = [(s.get("TimeIn"), s.get("TimeOut")) for s in root.iter(f"{DCST}Subtitle")]
    assert times == [("00:00:00:00", "00:00:00:12"), ("00:00:01:00", "00:00:01:12")]
    reel1 = dcp_subtitles(track, edit_rate=24, duration=48, title="Film")
    times1 = [(s.get("TimeIn"), s.get("TimeOut")) for s in ET.fromstring(reel1.xml).iter(f"{DCST}Subtitle")]
    assert times1 == [("00:00:01:12", "00:00:02:00")]  # clipped at the reel's end


def test_missing_font_fails_clearly(tmp_path: Path) -> None:
    with pytest.raises(MediaError, match="font"):
        load_font(tmp_path / "nope.ttf")
    bad = tmp_path / "bad.ttf"
    bad.write_bytes(b"not a font")
    with pytest.raises(MediaError, match="TrueType"):
        load_font(bad)


# -------------------------------------------------------------------------------------- picture, sound


def test_rates_and_containers() -> None:
    assert dcp_rate(Fraction(24000, 1001)) == 24
    assert dcp_rate(25) == 25 and dcp_rate(Fraction(30000, 1001)) == 30
    with pytest.raises(UsageError, match="no DCP equivalent"):
        dcp_rate(Fraction(15))
    flat, scope = container_size("flat"), container_size("scope")
    assert fit_in_container(1920, 1080, flat) == (1920, 1080)  # pillarboxed in 1998
    assert fit_in_container(640, 360, flat) == (1920, 1080)
    assert fit_in_container(2048, 858, scope) == (2048, 858)
    assert fit_in_container(1920, 804, scope) == (2048, 858)
    assert fit_in_container(1998, 1080, flat) == (1998, 1080)
    with pytest.raises(UsageError, match="container"):
        container_size("imax")


def test_reel_ranges() -> None:
    assert reel_ranges(100, 24, None) == [(0, 100)]
    assert reel_ranges(100, 24, 2) == [(0, 48), (48, 52)]  # a 4-frame last reel joins the one before
    assert reel_ranges(96, 24, 1) == [(0, 24), (24, 24), (48, 24), (72, 24)]
    with pytest.raises(UsageError, match="one second"):
        reel_ranges(100, 24, 0.5)  # type: ignore[arg-type]


def test_sound_blocks_exact_trimmed_and_padded(tmp_path: Path) -> None:
    wav = tmp_path / "pm.wav"
    data = _printmaster(wav, 1.1)  # 52,800 samples
    blocks = list(sound_blocks(wav, edit_rate=24, duration=30))  # 60,000 samples: padded
    assert len(blocks) == 30 and all(b.shape == (2000, 6) and b.dtype == np.int32 for b in blocks)
    joined = np.concatenate(blocks)
    np.testing.assert_array_equal(joined[: len(data)], data)
    assert not joined[len(data) :].any()
    short = np.concatenate(list(sound_blocks(wav, edit_rate=25, duration=10)))  # 1920 per frame: trimmed
    np.testing.assert_array_equal(short, data[:19200])


def test_sound_of_a_23976_master_is_sped_up_in_sync(tmp_path: Path) -> None:
    wav = tmp_path / "pm.wav"
    _printmaster(wav, 2.0, channels=2)
    speed = Fraction(24) / Fraction(24000, 1001)
    out = np.concatenate(list(sound_blocks(wav, edit_rate=24, duration=40, speed=speed)))
    assert out.shape == (80000, 2)
    # the click at input sample 24000 lands at 24000 * 1000/1001 = 23976.02
    assert abs(int(np.argmax(out[:, 0])) - 23976) <= 1


# ------------------------------------------------------------------------------------------ whole DCP


class _StopAfter:
    """A progress that cancels the run after ``n`` frames (a killed encode)."""

    def __init__(self, token: CancelToken, n: int) -> None:
        self.token, self.n, self.seen = token, n, 0

    def start(self, label: str, total: int | None) -> None:
        pass

    def advance(self, n: int = 1) -> None:
        self.seen += n
        if self.seen >= self.n:
            self.token.cancel()

    def finish(self) -> None:
        pass


@pytest.fixture(scope="module")
def ov(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One OV (24 frames, 5.1, subtitles), made in two runs: killed after 10 frames, then resumed."""
    _needs_font()
    root = tmp_path_factory.mktemp("dcp")
    master = root / "master.mov"
    _write_master(master)
    pm = root / "pm51.wav"
    pcm = _printmaster(pm, FRAMES / FPS + 0.3)  # longer than the picture: trimmed
    srt = root / "subs.srt"
    srt.write_text(SRT, encoding="utf-8")
    out = root / "deliver"
    kw: dict[str, Any] = dict(
        audio=pm, subtitles=srt, title="Test Film", studio="PH", facility="PH", rating="13", jobs=1
    )
    token = CancelToken()
    with pytest.raises(Cancelled):
        make_dcp(master, out, progress=_StopAfter(token, 10), cancel=token, **kw)
    work = next(out.glob(".master.*.work"))
    done = sorted(work.glob("*.j2c"))
    mtimes = {p.name: p.stat().st_mtime_ns for p in done}
    assert len(done) == 10 and not [p for p in out.iterdir() if not p.name.startswith(".")]
    result = make_dcp(master, out, keep_work=True, **kw)
    return {
        "result": result,
        "master": master,
        "pm": pm,
        "pcm": pcm,
        "work": work,
        "mtimes": mtimes,
        "out": out,
    }


@pytest.mark.slow
def test_killed_encode_resumes_without_reencoding(ov: dict[str, Any]) -> None:
    r = ov["result"]
    assert (r.skipped, r.encoded) == (10, FRAMES - 10)
    for name, mtime in ov["mtimes"].items():
        assert (ov["work"] / name).stat().st_mtime_ns == mtime  # the finished frames were not rewritten


@pytest.mark.slow
def test_ov_passes_clairmeta(ov: dict[str, Any]) -> None:
    r = ov["result"]
    assert r.name == parse_isdcf_name(r.path.name).build()
    assert r.path.name.startswith("TestFilm_FTR-1_F_EN-EN_US-13_51_2K_PH_")
    errors, warnings = clairmeta_check(r.path)
    print("ClairMeta warnings:", *warnings, sep="\n  ")
    assert not errors, "\n".join(errors)


@pytest.mark.slow
def test_ov_hashes_sizes_and_assetmap_paths(ov: dict[str, Any]) -> None:
    path = ov["result"].path
    am = ET.parse(path / "ASSETMAP.xml").getroot()
    mapped = {
        a.findtext(f"{AM}Id"): path / (a.findtext(f"{AM}ChunkList/{AM}Chunk/{AM}Path") or "")
        for a in am.iter(f"{AM}Asset")
    }
    assert all(p.is_file() for p in mapped.values())
    pkl_ids = [
        a.findtext(f"{AM}Id") for a in am.iter(f"{AM}Asset") if a.findtext(f"{AM}PackingList") == "true"
    ]
    assert len(pkl_ids) == 1
    pkl = ET.parse(mapped[pkl_ids[0]]).getroot()
    listed = list(pkl.iter(f"{PKL}Asset"))
    assert len(listed) == 4  # picture, sound, subtitles, CPL
    for a in listed:
        f = mapped[a.findtext(f"{PKL}Id")]
        data = f.read_bytes()
        assert a.findtext(f"{PKL}Hash") == base64.b64encode(hashlib.sha1(data).digest()).decode()
        assert int(a.findtext(f"{PKL}Size") or 0) == len(data)
    assert {p.name for p in path.iterdir()} == set(ov["result"].files)


@pytest.mark.slow
def test_ov_cpl_validates_and_describes_the_reel(ov: dict[str, Any], tmp_path: Path) -> None:
    r = ov["result"]
    cpl_bytes = (r.path / f"CPL_{r.cpl_id}.xml").read_bytes()
    _validate(cpl_bytes, tmp_path)
    root = ET.fromstring(cpl_bytes)
    assets = root.find(f"{CPL}ReelList/{CPL}Reel/{CPL}AssetList")
    assert assets is not None
    for tag in ("MainPicture", "MainSound", "MainSubtitle"):
        assert assets.findtext(f"{CPL}{tag}/{CPL}Duration") == str(FRAMES)
        assert assets.findtext(f"{CPL}{tag}/{CPL}EditRate") == "24 1"
    assert assets.findtext(f"{CPL}MainPicture/{CPL}Id") == f"urn:uuid:{r.picture_id}"
    assert root.findtext(f"{CPL}ContentTitleText") == r.name
    assert r.container == (1998, 1080) and r.active_area == (1920, 1080)


def _xyz12(frame: Any) -> np.ndarray:
    """12-bit X'Y'Z' codes of an FFmpeg-decoded frame (xyz12le keeps them in the top of each 16-bit word)."""
    assert frame.format.name == "xyz12le"
    plane = frame.planes[0]
    rows = np.frombuffer(bytes(plane), np.uint16).reshape(frame.height, plane.line_size // 2)
    return rows[:, : frame.width * 3].reshape(frame.height, frame.width, 3).astype(np.int64) >> 4


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a - b) ** 2))
    return 99.0 if mse == 0 else 10 * np.log10(1.0 / mse)


@pytest.mark.slow
def test_picture_decodes_back_to_the_master(ov: dict[str, Any]) -> None:
    import av

    r = ov["result"]
    mxf = r.path / next(f for f in r.files if f.startswith("j2c_"))
    with av.open(str(mxf)) as c:
        vs = c.streams.video[0]
        assert vs.codec_context.name == "jpeg2000"
        frames = [_xyz12(f) for f in c.decode(vs)]
    assert len(frames) == FRAMES
    for i in (0, FRAMES - 1):
        xyz = frames[i]
        assert xyz.shape == (1080, 1998, 3)
        rgb = xyz12_to_rgb(xyz)
        bars = rgb[:, :39], rgb[:, 1959:]
        assert max(float(b.max()) for b in bars) < 0.01  # black pillarbox bars
        pic = rgb[:, 39:1959]  # 1920×1080: the master scaled ×6
        import av as _av

        ref = _av.VideoFrame.from_ndarray(_master_frame(i), format="rgb24")
        ref_up = ref.reformat(width=1920, height=1080, interpolation="LANCZOS").to_ndarray() / 255.0
        assert _psnr(pic, ref_up) >= 30
        for _, colour, (x0, y0, x1, y1) in PATCHES:
            centre = pic[y0 * 6 + 60 : y1 * 6 - 60, x0 * 6 + 60 : x1 * 6 - 60]
            got = centre.reshape(-1, 3).mean(axis=0) * 255
            assert np.abs(got - np.array(colour)).max() <= 3, (colour, got)


@pytest.mark.slow
def test_sound_decodes_back_to_the_printmaster(ov: dict[str, Any]) -> None:
    import av

    r = ov["result"]
    mxf = r.path / next(f for f in r.files if f.startswith("pcm_"))
    with av.open(str(mxf)) as c:
        st = c.streams.audio[0]
        assert st.codec_context.sample_rate == 48000 and st.codec_context.channels == 6
        chunks = [f.to_ndarray() for f in c.decode(st)]
    pcm = np.concatenate([ch.reshape(-1, 6) if ch.shape[0] == 1 else ch.T for ch in chunks])
    assert pcm.dtype == np.int32
    got = pcm >> 8
    want = ov["pcm"][: FRAMES * 2000]
    assert got.shape == want.shape  # trimmed to the picture: 2000 samples an edit unit
    np.testing.assert_array_equal(got, want)


@pytest.mark.slow
def test_vf_plays_the_ov_picture_and_passes_clairmeta(ov: dict[str, Any], tmp_path: Path) -> None:
    r = ov["result"]
    dub = tmp_path / "pm51_fr.wav"
    pcm = _printmaster(dub, FRAMES / FPS, seed=7)
    srt = tmp_path / "fr.srt"
    srt.write_text(SRT.replace("Hello, cinema!", "Bonjour, le cinéma !"), encoding="utf-8")
    vf = make_version_file(r.path, dub, ov["out"], language="fr", subtitles=srt)
    assert vf.package == "VF" and vf.path.name.endswith("_SMPTE_VF")
    parsed = parse_isdcf_name(vf.name)
    assert (parsed.audio_language, parsed.subtitle_language) == ("FR", "FR")
    assert vf.subtitle_id is not None
    assert vf.picture_id == r.picture_id and read_ov(r.path).picture.id == r.picture_id
    assert not [f for f in vf.files if f.startswith("j2c_")]  # the picture stays in the OV
    root = ET.parse(vf.path / f"CPL_{vf.cpl_id}.xml").getroot()
    assert root.findtext(f".//{CPL}MainPicture/{CPL}Id") == f"urn:uuid:{r.picture_id}"
    errors, warnings = clairmeta_check(vf.path, ov=r.path)
    print("ClairMeta VF warnings:", *warnings, sep="\n  ")
    assert not errors, "\n".join(errors)
    from posthouse.finish.mxf import iter_mxf_essence

    snd = vf.path / next(f for f in vf.files if f.startswith("pcm_"))
    raw = b"".join(iter_mxf_essence(snd))
    b = np.frombuffer(raw, np.uint8).reshape(-1, 3).astype(np.int32)
    got = ((b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)) << 8 >> 8).reshape(-1, 6)
    np.testing.assert_array_equal(got, pcm[: FRAMES * 2000])


@pytest.mark.slow
def test_existing_dcp_is_not_overwritten(ov: dict[str, Any]) -> None:
    r = ov["result"]
    with pytest.raises(UsageError, match="already exists"):
        make_dcp(ov["master"], ov["out"], audio=ov["pm"], name=r.name)
