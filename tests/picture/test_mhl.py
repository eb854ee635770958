"""ASC MHL v2: C4 ids, hash list XML (checked with an independent ElementTree reading), history and chain."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from posthouse.picture.mhl import (
    CHAIN_FILE,
    CHAIN_NAMESPACE,
    NAMESPACE,
    C4Hasher,
    CreatorInfo,
    HashEntry,
    HashList,
    History,
    MediaHash,
    MHLError,
    c4_file,
    c4_from_digest,
    c4_id,
    find_roots,
    generation_filename,
    hashlist_to_xml,
    is_ignored,
    new_hashlist,
    parse_chain,
    parse_hashlist,
)

NS = f"{{{NAMESPACE}}}"
CNS = f"{{{CHAIN_NAMESPACE}}}"
WHEN = datetime(2026, 11, 24, 9, 30, 5, tzinfo=UTC)

# Published C4 ids (SMPTE ST 2114): the Avalanche-io reference test suites (pyc4 tests/test_c4.py,
# c4 C library tests) and the c4id npm package README.
C4_EMPTY = "c459dsjfscH38cYeXXYogktxf4Cd9ibshE3BHUo6a58hBXmRQdZrAkZzsWcbWtDg5oQstpDuni4Hirj75GEmTc1sFT"
C4_ALFA = "c43zYcLni5LF9rR4Lg4B8h3Jp8SBwjcnyyeh4bc6gTPHndKuKdjUWx1kJPYhZxYt3zV6tQXpDs2shPsPYjgG81wZM1"
C4_HELLO = "c43AQnB9bDGEwZSsxT1HwhHrCYXDoTrr4hmAJypFwxhTVngqUhVJwQtmJpcmb4Mq9Y6249ZzqNtWRZ8CE2gGSPRc6F"
C4_ALL_FF = "c467rpwLCuS5DGA8KGZXKsVQ7dnPb9goRLoKfgGbLfQg9WoLUgNY77E2jT11fem3coV9nAkguBACzrU1iyZM4B8roQ"


@pytest.mark.parametrize(
    ("data", "expected"), [(b"", C4_EMPTY), (b"alfa", C4_ALFA), (b"hello, world!", C4_HELLO)]
)
def test_c4_id_matches_published_values(data: bytes, expected: str) -> None:
    assert c4_id(data) == expected
    assert len(expected) == 90


def test_c4_digest_encoding_pads_and_streams(tmp_path: Path) -> None:
    assert c4_from_digest(bytes(64)) == "c4" + "1" * 88
    assert c4_from_digest(b"\xff" * 64) == C4_ALL_FF
    h = C4Hasher()
    for part in (b"hel", b"lo, ", b"world!"):
        h.update(part)
    assert h.hexdigest() == C4_HELLO
    f = tmp_path / "f.txt"
    f.write_bytes(b"alfa")
    assert c4_file(f) == C4_ALFA


def _sample() -> HashList:
    t = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    return HashList(
        creator=CreatorInfo(WHEN, "dit-cart", "posthouse", "0.1.0", comment="day 1"),
        process="transfer",
        hashes=(
            MediaHash(
                "CLIPS/A001C001 & friends é.mov",
                (HashEntry("xxh64", "0123456789abcdef", "original", WHEN), HashEntry("md5", "0" * 32)),
                300_000,
                t,
            ),
            MediaHash("A001C001.xml", (HashEntry("xxh64", "fedcba9876543210", "verified", WHEN),), 7, t),
        ),
    )


def test_hashlist_xml_has_the_schema_elements_in_order() -> None:
    root = ET.fromstring(hashlist_to_xml(_sample()))
    assert root.tag == NS + "hashlist" and root.get("version") == "2.0"
    assert [c.tag for c in root] == [NS + "creatorinfo", NS + "processinfo", NS + "hashes"]
    creator = root.find(NS + "creatorinfo")
    assert creator is not None
    assert [c.tag for c in creator] == [NS + t for t in ("creationdate", "hostname", "tool", "comment")]
    assert datetime.fromisoformat(creator.findtext(NS + "creationdate") or "") == WHEN
    tool = creator.find(NS + "tool")
    assert tool is not None and tool.text == "posthouse" and tool.get("version") == "0.1.0"
    assert root.findtext(f"{NS}processinfo/{NS}process") == "transfer"
    assert ".DS_Store" in [p.text for p in root.iter(NS + "pattern")]
    hashes = root.findall(f"{NS}hashes/{NS}hash")
    assert len(hashes) == 2
    first = hashes[0]
    assert [c.tag for c in first] == [NS + "path", NS + "xxh64", NS + "md5"]
    path = first.find(NS + "path")
    assert path is not None and path.text == "CLIPS/A001C001 & friends é.mov"
    assert path.get("size") == "300000"
    assert datetime.fromisoformat(path.get("lastmodificationdate") or "").year == 2026
    xxh = first.find(NS + "xxh64")
    assert xxh is not None and xxh.text == "0123456789abcdef" and xxh.get("action") == "original"
    assert datetime.fromisoformat(xxh.get("hashdate") or "") == WHEN
    # every element is in the ASC MHL namespace
    assert all(e.tag.startswith(NS) for e in root.iter())


def test_hashlist_round_trip(tmp_path: Path) -> None:
    original = _sample()
    f = tmp_path / "x.mhl"
    f.write_bytes(hashlist_to_xml(original))
    assert parse_hashlist(f) == original


def test_empty_hashlist_omits_hashes(tmp_path: Path) -> None:
    root = ET.fromstring(hashlist_to_xml(new_hashlist("in-place", [], now=WHEN)))
    assert root.find(NS + "hashes") is None  # the schema wants >= 1 entry inside <hashes>


def test_reads_the_reference_implementation_layout(tmp_path: Path) -> None:
    # as written by the `ascmhl` tool: authors, local-offset dates, microseconds, directory and root hashes
    f = tmp_path / "0002_Card_2026-11-24_083000Z.mhl"
    f.write_text(
        """<?xml version="1.0" encoding="UTF-8"?>
<hashlist version="2.0" xmlns="urn:ASC:MHL:v2.0">
  <creatorinfo>
    <creationdate>2026-11-24T09:30:00+01:00</creationdate>
    <hostname>dit.local</hostname>
    <tool version="1.2">ascmhl</tool>
    <author email="dit@example.com" role="DIT">A. Person</author>
  </creatorinfo>
  <processinfo>
    <process>in-place</process>
    <roothash>
      <content><xxh64 hashdate="2026-11-24T09:30:00.123456+01:00">2d9a2dd556bdba03</xxh64></content>
      <structure><xxh64 hashdate="2026-11-24T09:30:00.123456+01:00">065c28a8abe63ac0</xxh64></structure>
    </roothash>
    <ignore><pattern>.DS_Store</pattern><pattern>ascmhl</pattern><pattern>ascmhl/</pattern></ignore>
  </processinfo>
  <hashes>
    <hash>
      <path size="250000" lastmodificationdate="2026-11-24T09:00:35+01:00">Clip/C001.mov</path>
      <xxh64 action="verified" hashdate="2026-11-24T09:30:00.307808+01:00">CF8890BAC129116B</xxh64>
    </hash>
    <directoryhash>
      <path lastmodificationdate="2026-11-24T09:00:35+01:00">Clip</path>
      <content><xxh64>ffd5eda13f8ad2ca</xxh64></content>
      <structure><xxh64>1b2abc6b094a9b5a</xxh64></structure>
    </directoryhash>
  </hashes>
</hashlist>
""",
        encoding="utf-8",
    )
    hl = parse_hashlist(f)
    assert hl.process == "in-place" and hl.creator.tool == "ascmhl" and hl.creator.tool_version == "1.2"
    assert hl.creator.creation_date == datetime(2026, 11, 24, 8, 30, tzinfo=UTC)
    assert [m.path for m in hl.hashes] == ["Clip/C001.mov"]  # the directory hash is not a file
    media = hl.hashes[0]
    assert media.size == 250000
    assert media.last_modified == datetime(2026, 11, 24, 9, 0, 35, tzinfo=timezone(timedelta(hours=1)))
    entry = media.get("xxh64")
    assert entry is not None and entry.action == "verified" and entry.matches("cf8890bac129116b")
    assert hl.ignore == (".DS_Store", "ascmhl", "ascmhl/")


def test_parse_errors_name_the_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "0001_x_2026-11-24_000000Z.mhl"
    bad.write_text(
        '<?xml version="1.0"?>\n'
        '<hashlist version="2.0" xmlns="urn:ASC:MHL:v2.0">\n'
        "  <creatorinfo>\n"
        "</hashlist>\n"
    )
    with pytest.raises(MHLError) as err:
        parse_hashlist(bad)
    assert str(bad) in str(err.value) and "line 4" in str(err.value)
    other = tmp_path / "other.mhl"
    other.write_text('<?xml version="1.0"?><hashlist version="1.1"><creatorinfo/></hashlist>')
    with pytest.raises(MHLError, match="not an ASC MHL v2 file"):
        parse_hashlist(other)


def _generation(path: str, value: str, action: str = "original", when: datetime = WHEN) -> HashList:
    media = MediaHash(path, (HashEntry("xxh64", value, action, when),), 10, when)
    return new_hashlist("in-place", [media], now=when)


def test_generations_are_numbered_chained_and_never_rewritten(tmp_path: Path) -> None:
    root = tmp_path / "A001"
    root.mkdir()
    history = History.load(root)
    assert history.generations == [] and history.latest_number == 0
    g1 = history.add_generation(_generation("a.mov", "1" * 16))
    first_bytes = g1.path.read_bytes()
    g2 = history.add_generation(_generation("a.mov", "1" * 16, "verified", WHEN + timedelta(hours=1)))
    assert g1.path.name == generation_filename(1, "A001", WHEN) == "0001_A001_2026-11-24_093005Z.mhl"
    assert re.fullmatch(r"0002_A001_\d{4}-\d\d-\d\d_\d{6}Z\.mhl", g2.path.name)
    assert g1.path.read_bytes() == first_bytes
    # the chain file, read independently
    chain = ET.parse(root / "ascmhl" / CHAIN_FILE).getroot()
    assert chain.tag == CNS + "ascmhldirectory"
    links = chain.findall(CNS + "hashlist")
    assert [h.get("sequencenr") for h in links] == ["1", "2"]
    assert [h.findtext(CNS + "path") for h in links] == [g1.path.name, g2.path.name]
    assert [h.findtext(CNS + "c4") for h in links] == [c4_file(g1.path), c4_file(g2.path)]
    assert [e.sequence for e in parse_chain(root / "ascmhl" / CHAIN_FILE)] == [1, 2]
    again = History.load(root)
    assert [g.number for g in again.generations] == [1, 2] and again.problems == []


def test_altered_missing_or_unchained_generations_are_problems(tmp_path: Path) -> None:
    history = History.load(tmp_path)
    g1 = history.add_generation(_generation("a.mov", "1" * 16))
    g2 = history.add_generation(_generation("a.mov", "1" * 16, "verified"))
    g1.path.write_text(g1.path.read_text().replace("1" * 16, "2" * 16))
    g2.path.unlink()
    stray = tmp_path / "ascmhl" / "0007_x_2026-11-24_000000Z.mhl"
    stray.write_bytes(hashlist_to_xml(_generation("b.mov", "3" * 16)))
    problems = History.load(tmp_path).problems
    assert len(problems) == 3
    assert "generation 1 was modified" in problems[0]
    assert "generation 2 is missing" in problems[1]
    assert "not in the chain" in problems[2]


def test_reference_keeps_the_last_good_hash(tmp_path: Path) -> None:
    history = History.load(tmp_path)
    history.add_generation(_generation("a.mov", "1" * 16))
    history.add_generation(_generation("a.mov", "f" * 16, "failed"))
    ref = history.reference()
    entry = ref["a.mov"].get("xxh64")
    assert entry is not None and entry.value == "1" * 16


def test_ignore_patterns_and_roots(tmp_path: Path) -> None:
    pats = (".DS_Store", "._*", ".Trashes/", "ascmhl/", "sub/skip.me")
    assert is_ignored(".DS_Store", False, pats) and is_ignored("x/._a.mov", False, pats)
    assert is_ignored(".Trashes", True, pats) and not is_ignored(".Trashes", False, pats)
    assert is_ignored("sub/skip.me", False, pats) and not is_ignored("other/skip.me", False, pats)
    assert not is_ignored("A001C001.mov", False, pats)
    for d in ("day1/A001/ascmhl", "day1/B001/ascmhl", "day1/B001/sub/ascmhl", "day1/plain"):
        (tmp_path / d).mkdir(parents=True)
    assert find_roots(tmp_path / "day1") == [
        tmp_path / "day1/A001",
        tmp_path / "day1/B001",
        tmp_path / "day1/B001/sub",
    ]
