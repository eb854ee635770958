"""Importing cuts from other systems: line numbers for malformed files, offline media listed."""

from __future__ import annotations

from pathlib import Path

import opentimelineio as otio
import pytest

from posthouse.core.errors import PosthouseError
from posthouse.picture.importing import import_cut
from posthouse.picture.turnover import turnover

RATE = 24


def _cut(media: Path) -> otio.schema.Timeline:
    tl = otio.schema.Timeline(name="imported")
    tl.global_start_time = otio.opentime.RationalTime(86400, RATE)
    v1 = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    for i, name in enumerate(("A001C001", "A001C002")):
        avail = otio.opentime.TimeRange(
            otio.opentime.RationalTime(86400 + 1000 * i, RATE), otio.opentime.RationalTime(200, RATE)
        )
        ref = otio.schema.ExternalReference(
            target_url=(media / f"{name}.mov").as_uri(), available_range=avail
        )
        v1.append(
            otio.schema.Clip(
                name=name,
                media_reference=ref,
                source_range=otio.opentime.TimeRange(
                    avail.start_time + otio.opentime.RationalTime(10, RATE),
                    otio.opentime.RationalTime(48, RATE),
                ),
            )
        )
    tl.tracks.append(v1)
    return tl


def test_xml_and_edl_import_and_list_offline_media(tmp_path: Path) -> None:
    media = tmp_path / "media"
    media.mkdir()
    (media / "A001C001.mov").write_bytes(b"present")  # only its existence matters here
    turnover(_cut(media), tmp_path / "to", name="cut", rate=RATE, bundle_media=False)
    for f in ("cut.xml", "cut_V1.edl"):
        imported = import_cut(tmp_path / "to" / f, rate=RATE)
        clips = list(imported.timeline.tracks[0].find_clips())
        assert [round(c.source_range.duration.value) for c in clips] == [48, 48]
    xml = import_cut(tmp_path / "to" / "cut.xml", rate=RATE)
    assert len(xml.offline) == 1 and "A001C002" in xml.offline[0]


def test_malformed_xml_names_the_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.xml"
    bad.write_text(
        '<?xml version="1.0"?>\n<xmeml version="4">\n  <sequence>\n    <name>x</name>\n  </sequnce>\n'
    )
    with pytest.raises(PosthouseError, match="line 5"):
        import_cut(bad, rate=RATE)


def test_malformed_edl_names_the_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.edl"
    bad.write_text("TITLE: x\nFCM: NON-DROP FRAME\n\n001  A001 V C 01:00:00:00 01:00:01:00 01:00:00:00\n")
    with pytest.raises(PosthouseError, match="line 4"):
        import_cut(bad, rate=RATE)
