"""Effects library: UCS table and names, indexing (metadata, loudness, incremental, bad files), search."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pyloudnorm
import pytest
import soundfile as sf
import typer
from typer.testing import CliRunner

from posthouse.demo.sfx import demo_sounds, generate_sfx_library
from posthouse.sound import sfxlib
from posthouse.sound.sfxlib import (
    SfxIndex,
    cat_short,
    index_library,
    load_index,
    lookup_category,
    parse_ucs_name,
    search,
    ucs_categories,
)

KNOCK = "DOORWood_Knock Three Times Hollow_PH_Demo.wav"
CLOSE = "DOORWood_Door Close Heavy Latch_PH_Demo.wav"
WIND = "AMBForst_Wind In Pine Trees Gentle_PH_Demo.wav"


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    lib = tmp_path_factory.mktemp("sfx") / "library"
    generate_sfx_library(lib, seed=1)
    return lib


@pytest.fixture()
def lib_copy(library: Path, tmp_path: Path) -> Path:
    dest = tmp_path / "library"
    shutil.copytree(library, dest)
    return dest


@pytest.fixture(scope="module")
def index(library: Path, tmp_path_factory: pytest.TempPathFactory) -> SfxIndex:
    path = tmp_path_factory.mktemp("idx") / "sfx_index.json"
    index_library([library], path)
    return load_index(path)


# --------------------------------------------------------------- UCS


def test_ucs_table_ships_with_the_main_categories() -> None:
    table = ucs_categories()
    cats = {c.category for c in table.values()}
    for needed in (
        "AMBIENCE",
        "DOORS",
        "FOOTSTEPS",
        "FOLEY",
        "VEHICLES",
        "WEATHER",
        "WATER",
        "GUNS",
        "SWOOSHES",
    ):
        assert needed in cats, needed
    assert table["DOORWood"].category == "DOORS" and table["DOORWood"].subcategory == "WOOD"
    assert table["AMBRoom"].subcategory == "ROOM TONE"
    assert table["FEETHmn"].category == "FOOTSTEPS"
    assert table["WHSH"].subcategory == "WHOOSH"
    assert len(table) > 250
    assert all(c.cat_id[0].isupper() and c.category and c.subcategory for c in table.values())
    assert lookup_category("doorwood") is table["DOORWood"]
    assert lookup_category("NOPEZzz") is None
    assert [cat_short(c) for c in ("AMBForst", "DOORWood", "WHSH", "UIClick", "DESTRClpse")] == [
        "AMB",
        "DOOR",
        "WHSH",
        "UI",
        "DESTR",
    ]


def test_parse_ucs_names() -> None:
    n = parse_ucs_name("DOORWood_Knock Three Times Hollow_JD_Library.wav")
    assert n is not None
    assert (n.cat_id, n.fx_name, n.creator_id, n.source_id, n.user_data) == (
        "DOORWood",
        "Knock Three Times Hollow",
        "JD",
        "Library",
        "",
    )
    assert (n.category, n.subcategory) == ("DOORS", "WOOD")
    u = parse_ucs_name("FEETHmn-Gravel_Walk Slow_AB_Steps_take 2_v3")
    assert u is not None and u.user_category == "Gravel" and u.user_data == "take 2_v3"
    assert u.category == "FOOTSTEPS"
    # a CatID not in our subset still parses when the name has all four blocks
    x = parse_ucs_name("ZZZTest_Some Thing_AB_Lib.wav")
    assert x is not None and x.cat_id == "ZZZTest" and x.category is None
    assert parse_ucs_name("door knock 01.wav") is None
    assert parse_ucs_name("Scene 12_take 3.wav") is None


# --------------------------------------------------------------- indexing


def test_index_reads_ucs_fields_metadata_duration_and_format(index: SfxIndex, library: Path) -> None:
    assert len(index) == len(demo_sounds()) == 8
    by_name = {e.name: e for e in index.entries}
    knock = by_name[KNOCK]
    assert (knock.cat_id, knock.category, knock.subcategory) == ("DOORWood", "DOORS", "WOOD")
    assert (knock.fx_name, knock.creator_id, knock.source_id) == ("Knock Three Times Hollow", "PH", "Demo")
    assert "three knocks" in knock.description  # bext Description
    assert "knuckles" in knock.description  # iXML NOTE
    assert knock.originator == "posthouse demo"
    info = sf.info(str(library / KNOCK))
    assert (knock.sample_rate, knock.channels, knock.frames) == (48000, 1, info.frames)
    assert knock.subtype == "PCM_24"
    assert knock.duration_s == pytest.approx(1.5)
    wind = by_name[WIND]
    assert wind.channels == 2 and wind.category == "AMBIENCE"
    for e in index.entries:
        assert 0.5 <= e.duration_s <= 6.0
        assert e.true_peak_dbtp is not None and e.true_peak_dbtp < 0.0


def test_loudness_matches_pyloudnorm(index: SfxIndex, library: Path) -> None:
    by_name = {e.name: e for e in index.entries}
    for name in (WIND, KNOCK):
        data, rate = sf.read(str(library / name), always_2d=True)
        expected = pyloudnorm.Meter(rate).integrated_loudness(data)
        got = by_name[name].integrated_lufs
        assert got is not None
        assert abs(got - expected) < 0.1, (name, got, expected)
        peak_db = 20 * np.log10(np.max(np.abs(data)))
        assert by_name[name].sample_peak_dbfs == pytest.approx(peak_db, abs=0.01)


def test_index_json_is_written_and_reads_back(library: Path, tmp_path: Path) -> None:
    path = tmp_path / "sound" / "sfx_index.json"
    report = index_library([library], path)
    assert len(report.added) == 8 and report.unchanged == 0 and not report.problems
    data = json.loads(path.read_text())
    assert data["format"] == "posthouse.sfx_index" and len(data["entries"]) == 8
    assert [p.name for p in path.parent.iterdir()] == ["sfx_index.json"]  # no partial file left behind
    again = load_index(path)
    assert [e.to_dict() for e in again.entries] == [e.to_dict() for e in SfxIndex.load(path).entries]


def test_reindex_skips_unchanged_files(
    lib_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "idx.json"
    index_library([lib_copy], path)
    measured: list[str] = []
    real = sfxlib.measure_file

    def counting(p: str | Path, **kw: object) -> object:
        measured.append(Path(p).name)
        return real(p)

    monkeypatch.setattr(sfxlib, "measure_file", counting)
    report = index_library([lib_copy], path)
    assert report.unchanged == 8 and not report.added and not report.updated
    assert measured == []
    # one file touched, one removed, one added: only the touched and the new one are measured
    touched = lib_copy / KNOCK
    st = touched.stat()
    os.utime(touched, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    (lib_copy / CLOSE).unlink()
    (lib_copy / "sub").mkdir()
    shutil.copy(lib_copy / WIND, lib_copy / "sub" / "AMBForst_Wind Copy_PH_Demo.wav")
    report = index_library([lib_copy], path)
    assert sorted(measured) == sorted([KNOCK, "AMBForst_Wind Copy_PH_Demo.wav"])
    assert [Path(p).name for p in report.updated] == [KNOCK]
    assert [Path(p).name for p in report.added] == ["AMBForst_Wind Copy_PH_Demo.wav"]
    assert [Path(p).name for p in report.removed] == [CLOSE]
    assert report.unchanged == 6 and report.entries == 8
    # rescan measures everything again
    measured.clear()
    index_library([lib_copy], path, rescan=True)
    assert len(measured) == 8


def test_a_corrupt_file_is_listed_not_fatal(lib_copy: Path, tmp_path: Path) -> None:
    bad = lib_copy / "AMBAir_Broken File_PH_Demo.wav"
    bad.write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunkjunkjunk" + os.urandom(200))
    (lib_copy / "notes.txt").write_text("not audio, not indexed")
    (lib_copy / "._DOORWood_Knock.wav").write_bytes(b"\x00\x05\x16\x07")  # AppleDouble companion: skipped
    path = tmp_path / "idx.json"
    report = index_library([lib_copy], path)
    assert report.entries == 8
    assert [Path(p.path).name for p in report.problems] == [bad.name]
    assert "not a readable WAV" in report.problems[0].reason
    saved = load_index(path)
    assert [Path(p.path).name for p in saved.problems] == [bad.name]
    # fixed on disk: the next run indexes it and drops the problem
    data = np.zeros((1, 48000), np.float32)
    from posthouse.core.media.bwf import write_bwf

    write_bwf(bad, data, 48000)
    report = index_library([lib_copy], path)
    assert report.entries == 9 and not report.problems and not load_index(path).problems


def test_missing_folder_is_a_usage_error(tmp_path: Path) -> None:
    from posthouse.core.errors import UsageError

    with pytest.raises(UsageError, match="no such folder"):
        index_library([tmp_path / "nope"], tmp_path / "idx.json")


# --------------------------------------------------------------- search


def test_search_ranks_by_words(index: SfxIndex) -> None:
    hits = search(index, "door knock")
    assert [h.entry.name for h in hits] == [KNOCK]
    doors = index.search("door")
    assert [h.entry.name for h in doors][:2] == [CLOSE, KNOCK]  # "Door" in the name outranks the category
    assert doors[0].score > doors[1].score
    assert index.search("door wind") == []  # every word must match
    assert index.search(["room", "tone"])[0].entry.cat_id == "AMBRoom"
    assert index.search("whooshes")[0].entry.cat_id == "WHSH"  # plural of the name
    assert index.search("knuckles")[0].entry.name == KNOCK  # description words count
    assert index.search("atmos")[0].entry.category == "AMBIENCE"  # category synonyms count
    # deterministic: ties broken by file name
    amb = index.search("background")
    assert [h.entry.name for h in amb] == sorted(h.entry.name for h in amb)


def test_search_filters(index: SfxIndex) -> None:
    names = lambda hits: {h.entry.name for h in hits}  # noqa: E731
    assert names(index.search("", category="DOORWood")) == {KNOCK, CLOSE}
    assert names(index.search("", category="doors")) == {KNOCK, CLOSE}
    assert names(index.search("", category="DOOR")) == {KNOCK, CLOSE}
    assert names(index.search("", category="DOORS/WOOD")) == {KNOCK, CLOSE}
    assert {h.entry.cat_id for h in index.search("", category="AMBIENCE")} == {"AMBForst", "AMBRoom"}
    assert {h.entry.cat_id for h in index.search("", category="AMB,FOLEY")} == {
        "AMBForst",
        "AMBRoom",
        "FOLYProp",
    }
    assert names(index.search("wood", category="FOOTSTEPS")) == {
        "FEETHmn_Footsteps Wood Floor Walk_PH_Demo.wav"
    }
    short = index.search("", max_duration=1.0)
    assert {h.entry.cat_id for h in short} == {"WHSH", "FOLYProp"}
    assert all(h.entry.duration_s >= 4.0 for h in index.search("", min_duration=4.0))
    assert len(index.search("", limit=3)) == 3


# --------------------------------------------------------------- CLI


def test_cli_index_and_search(library: Path, tmp_path: Path) -> None:
    from posthouse.cli import sfx

    app = typer.Typer()
    app.add_typer(sfx.app, name="sfx")
    runner = CliRunner()
    idx = tmp_path / "idx.json"
    res = runner.invoke(app, ["sfx", "index", str(library), "--index", str(idx), "--json"])
    assert res.exit_code == 0, res.output
    assert len(json.loads(res.stdout)["added"]) == 8
    res = runner.invoke(app, ["sfx", "search", "door", "--index", str(idx), "--category", "DOORS", "--json"])
    assert res.exit_code == 0, res.output
    hits = json.loads(res.stdout)
    assert [h["name"] for h in hits] == [CLOSE, KNOCK]
    assert hits[0]["cat_id"] == "DOORWood" and hits[0]["score"] > 0
    res = runner.invoke(app, ["sfx", "search", "knock", "--index", str(idx)])
    assert res.exit_code == 0 and "DOORWood" in res.stdout and "Knock" in res.stdout
    res = runner.invoke(app, ["sfx", "search", "xylophone", "--index", str(idx), "--json"])
    assert res.exit_code == 0 and json.loads(res.stdout) == []
    # a bad file makes the exit code 1, the rest is indexed
    (library.parent / "bad").mkdir(exist_ok=True)
    (library.parent / "bad" / "x.wav").write_bytes(b"nonsense")
    res = runner.invoke(app, ["sfx", "index", str(library.parent / "bad"), "--index", str(idx), "--json"])
    assert res.exit_code == 1
    assert json.loads(res.stdout)["problems"][0]["path"].endswith("x.wav")
    res = runner.invoke(app, ["sfx", "search", "door", "--index", str(tmp_path / "missing.json")])
    assert res.exit_code == 2


def test_cancelled_run_saves_its_work_and_the_next_run_resumes(
    lib_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from posthouse.core.progress import Cancelled, CancelToken

    token = CancelToken()

    class StopAfterThree:
        done = 0

        def start(self, label: str, total: int | None) -> None:
            pass

        def advance(self, n: int = 1) -> None:
            self.done += n
            if self.done == 3:
                token.cancel()

        def finish(self) -> None:
            pass

    path = tmp_path / "idx.json"
    with pytest.raises(Cancelled):
        index_library([lib_copy], path, progress=StopAfterThree(), cancel=token)
    assert len(load_index(path)) == 3
    measured: list[str] = []
    real = sfxlib.measure_file
    monkeypatch.setattr(sfxlib, "measure_file", lambda p, **kw: measured.append(str(p)) or real(p))
    report = index_library([lib_copy], path)
    assert len(measured) == 5 and report.unchanged == 3 and report.entries == 8
