"""The sound session: an OTIO timeline made from a locked cut, with audio tracks assigned to stems.

The session is the sound department's working copy of the locked cut (the picture tracks stay in it as
the reference). Each audio track carries its stem in ``metadata["posthouse"]["stem"]`` — one of
:data:`STEMS` — and a name with the stem's prefix (``DX1``, ``FX2``, ``MX1`` …). Clips keep the editorial
conventions of the cut: record positions are whole frames at the timeline rate; an audio clip's source
range counts samples since midnight (its BWF ``TimeReference``; 0 for files without one); level and fades
are ``metadata["posthouse"]`` keys ``gain_db``, ``fade_in_frames``, ``fade_out_frames``.

Sub-frame placement (an aligned ADR take, say) is carried by the clip's source start: place the clip at a
whole frame and start its source range that many samples earlier or later.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Final

import opentimelineio as otio

from posthouse.core.errors import MediaError, UsageError
from posthouse.core.fsutil import atomic_write_text
from posthouse.core.time import Rate, frames_to_samples, rational_time_to_frames

__all__ = [
    "STEMS",
    "STEM_PREFIX",
    "add_track",
    "audio_tracks",
    "free_track",
    "import_tracks",
    "load_session",
    "place_clip",
    "posthouse_meta",
    "save_session",
    "session_from_cut",
    "session_rate",
    "set_track_stem",
    "track_stem",
    "wav_clip",
]

STEMS: Final = ("dialogue", "music", "effects", "foley", "backgrounds")
"""The stems of a mix; the M&E is every stem but dialogue."""

STEM_PREFIX: Final = {
    "dialogue": "DX",
    "music": "MX",
    "effects": "FX",
    "foley": "FOL",
    "backgrounds": "BG",
}
_PREFIX_STEM: Final = {
    "DX": "dialogue",
    "DIA": "dialogue",
    "ADR": "dialogue",
    "PFX": "effects",
    "MX": "music",
    "MUS": "music",
    "FX": "effects",
    "SFX": "effects",
    "FOL": "foley",
    "FOLEY": "foley",
    "BG": "backgrounds",
    "AMB": "backgrounds",
}


def posthouse_meta(obj: Any) -> dict[str, Any]:
    """``obj.metadata["posthouse"]``, created empty when missing; the live dict (changes are kept on
    ``obj``). For a read-only copy use :func:`posthouse.engine.plan.read_posthouse_meta`."""
    meta = obj.metadata.get("posthouse")
    if meta is None:
        obj.metadata["posthouse"] = {}
        meta = obj.metadata["posthouse"]
    return meta  # type: ignore[no-any-return]


def session_rate(timeline: otio.schema.Timeline) -> Rate:
    """The session's frame rate (from ``global_start_time``, else its duration's rate)."""
    return Rate.parse((timeline.global_start_time or timeline.duration()).rate)


def track_stem(track: otio.schema.Track) -> str | None:
    """The stem a track feeds: ``metadata["posthouse"]["stem"]``, else guessed from its name's prefix
    (``DX``/``ADR`` dialogue, ``MX`` music, ``FX``/``SFX``/``PFX`` effects, ``FOL`` Foley, ``BG``/``AMB``
    backgrounds); ``None`` for picture tracks and names it cannot place."""
    if track.kind != otio.schema.TrackKind.Audio:
        return None
    meta = track.metadata.get("posthouse") or {}
    stem = meta.get("stem")
    if stem in STEMS:
        return str(stem)
    head = "".join(ch for ch in (track.name or "").upper() if ch.isalpha())
    for prefix in sorted(_PREFIX_STEM, key=len, reverse=True):
        if head.startswith(prefix):
            return _PREFIX_STEM[prefix]
    return None


def set_track_stem(track: otio.schema.Track, stem: str) -> None:
    """Assign ``track`` to ``stem``."""
    if stem not in STEMS:
        raise UsageError(f"unknown stem {stem!r}", hint=f"one of {', '.join(STEMS)}")
    posthouse_meta(track)["stem"] = stem


def audio_tracks(timeline: otio.schema.Timeline, stem: str | None = None) -> list[otio.schema.Track]:
    """The audio tracks of ``timeline`` (only those feeding ``stem`` when given), in order."""
    return [
        t
        for t in timeline.tracks
        if t.kind == otio.schema.TrackKind.Audio and (stem is None or track_stem(t) == stem)
    ]


def session_from_cut(cut: otio.schema.Timeline, *, cut_name: str | None = None) -> otio.schema.Timeline:
    """A new sound session from a (locked) cut: a deep copy whose production audio tracks become
    dialogue tracks ``DX1``, ``DX2`` … (the original track name kept as ``source_track``)."""
    session: otio.schema.Timeline = copy.deepcopy(cut)
    session.name = f"{cut.name} sound"
    meta = posthouse_meta(session)
    meta["sound_session"] = {"cut": cut_name or cut.name}
    n = 0
    for track in session.tracks:
        if track.kind != otio.schema.TrackKind.Audio:
            continue
        n += 1
        stem = track_stem(track) or "dialogue"
        tmeta = posthouse_meta(track)
        tmeta.setdefault("source_track", track.name)
        tmeta["stem"] = stem
        if stem == "dialogue":
            track.name = f"DX{n}"
    return session


def add_track(timeline: otio.schema.Timeline, stem: str, name: str | None = None) -> otio.schema.Track:
    """Append an empty audio track feeding ``stem``, named ``PREFIXn`` (the next free number) unless given."""
    if stem not in STEMS:
        raise UsageError(f"unknown stem {stem!r}", hint=f"one of {', '.join(STEMS)}")
    if name is None:
        prefix = STEM_PREFIX[stem]
        taken = {t.name for t in timeline.tracks}
        k = 1
        while f"{prefix}{k}" in taken:
            k += 1
        name = f"{prefix}{k}"
    track = otio.schema.Track(name=name, kind=otio.schema.TrackKind.Audio)
    set_track_stem(track, stem)
    timeline.tracks.append(track)
    return track


def _spans(track: otio.schema.Track, rate: Rate) -> list[tuple[int, int, int]]:
    """``(record_in, record_out, index)`` of each non-gap item of ``track`` in whole frames."""
    out = []
    pos = 0
    for i, child in enumerate(track):
        if isinstance(child, otio.schema.Transition):
            continue
        dur = rational_time_to_frames(child.duration(), rate)
        if not isinstance(child, otio.schema.Gap):
            out.append((pos, pos + dur, i))
        pos += dur
    return out


def free_track(
    timeline: otio.schema.Timeline, stem: str, record_in: int, record_out: int
) -> otio.schema.Track:
    """The first track of ``stem`` with nothing in record frames ``[record_in, record_out)``; a new
    track when every one is busy there (how an editor checkerboards overlapping sounds)."""
    rate = session_rate(timeline)
    for track in audio_tracks(timeline, stem):
        if all(b <= record_in or a >= record_out for a, b, _ in _spans(track, rate)):
            return track
    return add_track(timeline, stem)


def place_clip(track: otio.schema.Track, clip: otio.schema.Clip, record_in: int, rate: Rate | str) -> None:
    """Put ``clip`` on ``track`` so that it starts at record frame ``record_in`` (timeline start = 0),
    splitting the gap it lands in. Raises ``UsageError`` when it would overlap another clip."""
    r = Rate.parse(rate)
    dur = rational_time_to_frames(clip.duration(), r, "ceil")
    if record_in < 0 or dur <= 0:
        raise UsageError(f"cannot place {clip.name!r} at record frame {record_in} ({dur} frames)")
    pos = 0
    for i, child in enumerate(list(track)):
        if isinstance(child, otio.schema.Transition):
            continue
        cdur = rational_time_to_frames(child.duration(), r)
        if pos + cdur <= record_in:
            pos += cdur
            continue
        if not isinstance(child, otio.schema.Gap) or pos + cdur < record_in + dur:
            raise UsageError(
                f"track {track.name}: {clip.name!r} at record frames {record_in}-{record_in + dur} "
                f"overlaps {child.name or 'another clip'!r}",
                hint="place it on a free track (free_track) or move it",
            )
        before, after = record_in - pos, pos + cdur - record_in - dur
        del track[i]
        items: list[otio.core.Item] = []
        if before:
            items.append(otio.schema.Gap(duration=otio.opentime.RationalTime(before, r.otio_rate)))
        items.append(clip)
        if after:
            items.append(otio.schema.Gap(duration=otio.opentime.RationalTime(after, r.otio_rate)))
        for k, item in enumerate(items):
            track.insert(i + k, item)
        return
    if record_in > pos:
        track.append(otio.schema.Gap(duration=otio.opentime.RationalTime(record_in - pos, r.otio_rate)))
    track.append(clip)


def wav_clip(
    path: str | Path,
    *,
    name: str,
    frames: int,
    rate: Rate | str,
    sample_rate: int = 48_000,
    source_start: int = 0,
    time_reference: int = 0,
    file_samples: int | None = None,
    channel: int | None = None,
    metadata: dict[str, Any] | None = None,
) -> otio.schema.Clip:
    """An audio clip playing ``frames`` frames of a WAV from sample ``source_start`` (samples since midnight,
    as the file's BWF ``TimeReference`` counts; 0 for a file without one). ``time_reference`` and
    ``file_samples`` describe the file (its available range), so the renderer finds sample
    ``source_start - time_reference`` in it."""
    n = frames_to_samples(frames, rate, sample_rate)
    meta: dict[str, Any] = dict(metadata or {})
    if channel is not None:
        meta["channel"] = channel
    ref = otio.schema.ExternalReference(
        target_url=Path(path).resolve().as_uri(),
        available_range=otio.opentime.TimeRange(
            otio.opentime.RationalTime(time_reference, sample_rate),
            otio.opentime.RationalTime(file_samples if file_samples is not None else n, sample_rate),
        ),
    )
    return otio.schema.Clip(
        name=name,
        media_reference=ref,
        source_range=otio.opentime.TimeRange(
            otio.opentime.RationalTime(source_start, sample_rate), otio.opentime.RationalTime(n, sample_rate)
        ),
        metadata={"posthouse": meta},
    )


def load_session(path: str | Path) -> otio.schema.Timeline:
    """Read a session (or any OTIO timeline) from ``path``."""
    p = Path(path)
    try:
        tl = otio.adapters.read_from_file(str(p))
    except Exception as exc:  # OTIO raises many kinds for unreadable files
        raise MediaError(f"cannot read the sound session: {exc}", path=p) from exc
    if not isinstance(tl, otio.schema.Timeline):
        raise MediaError("not an OTIO timeline", path=p)
    return tl


def save_session(timeline: otio.schema.Timeline, path: str | Path) -> Path:
    """Write ``timeline`` as OTIO JSON to ``path`` atomically; returns the path."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(p, otio.adapters.write_to_string(timeline, "otio_json"))
    return p


def import_tracks(
    session: otio.schema.Timeline, other: otio.schema.Timeline, *, stem: str = "music", source: str = "score"
) -> list[str]:
    """Copy the audio tracks of ``other`` (the music department's music edit, say) into ``session`` as
    ``stem`` tracks, replacing the tracks an earlier import from ``source`` made; returns their names.

    Both timelines must start at the same timecode and rate (they are cuts of the same version)."""
    ours, theirs = session_rate(session), session_rate(other)
    start_a = session.global_start_time or otio.opentime.RationalTime(0, ours.otio_rate)
    start_b = other.global_start_time or otio.opentime.RationalTime(0, theirs.otio_rate)
    if ours != theirs or rational_time_to_frames(start_a, ours) != rational_time_to_frames(start_b, ours):
        raise UsageError(
            f"{other.name!r} starts at another timecode or rate than the session",
            hint="import the music edit made for this cut version",
        )
    keep = [t for t in session.tracks if (t.metadata.get("posthouse") or {}).get("imported_from") != source]
    while len(session.tracks):
        session.tracks.pop()
    for t in keep:
        session.tracks.append(t)
    names = []
    for track in other.tracks:
        if track.kind != otio.schema.TrackKind.Audio:
            continue
        new = copy.deepcopy(track)
        new.name = add_track(session, stem).name
        session.tracks.pop()
        meta = posthouse_meta(new)
        meta["stem"] = stem
        meta["imported_from"] = source
        meta.setdefault("source_track", track.name)
        session.tracks.append(new)
        names.append(new.name)
    return names
