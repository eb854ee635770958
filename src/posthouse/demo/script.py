"""The demo film's screenplay: scenes, characters and lines, written as Fountain and JSON."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from posthouse.core.fsutil import atomic_write_text

__all__ = ["Line", "Scene", "make_script", "write_script"]


@dataclass(frozen=True, slots=True)
class Line:
    """One line of dialogue."""

    character: str
    text: str


@dataclass(frozen=True, slots=True)
class Scene:
    """A scene: its number, slug line, and dialogue in order."""

    number: int
    heading: str
    action: str
    lines: tuple[Line, ...]

    @property
    def characters(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for line in self.lines:
            seen.setdefault(line.character, None)
        return tuple(seen)

    def to_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "heading": self.heading,
            "action": self.action,
            "characters": list(self.characters),
            "lines": [{"character": ln.character, "text": ln.text} for ln in self.lines],
        }


_SCENES: tuple[tuple[str, str, tuple[tuple[str, str], ...]], ...] = (
    (
        "INT. EDIT SUITE - NIGHT",
        "Monitors glow. MAYA scrubs through footage; THEO leans in the doorway.",
        (
            ("MAYA", "The sound is late again."),
            ("THEO", "Only by a frame or two."),
            ("MAYA", "A frame is a lifetime in here."),
        ),
    ),
    (
        "EXT. ROOFTOP - DAY",
        "Wind. THEO holds a recorder up to the sky.",
        (
            ("THEO", "Listen to that city hum."),
            ("MAYA", "That is the mains, not the city."),
            ("THEO", "Then we clean it later."),
        ),
    ),
    (
        "INT. KITCHEN - MORNING",
        "Coffee on the stove. MAYA reads the call sheet aloud.",
        (
            ("MAYA", "Scene twelve moves to the afternoon."),
            ("THEO", "We lose the light by five."),
            ("MAYA", "Then we shoot fast."),
            ("THEO", "We always shoot fast."),
        ),
    ),
    (
        "EXT. STATION PLATFORM - DUSK",
        "A train idles. THEO checks his watch against the slate.",
        (("THEO", "Our clocks drift apart."), ("MAYA", "Jam them again at lunch.")),
    ),
    (
        "INT. MIX STAGE - DAY",
        "Faders everywhere. MAYA rides the dialogue.",
        (
            ("MAYA", "Minus twenty three, right on the nose."),
            ("THEO", "Print it before it changes."),
            ("MAYA", "Nothing ever changes after lock."),
        ),
    ),
    (
        "INT. VAULT - NIGHT",
        "Drives stacked to the ceiling. THEO reads checksums.",
        (("THEO", "Every hash matches."), ("MAYA", "Then the film is safe.")),
    ),
)


def make_script(scenes: int) -> list[Scene]:
    """The first ``scenes`` scenes of the demo film (the text repeats after six, numbering goes on)."""
    out: list[Scene] = []
    for i in range(scenes):
        heading, action, lines = _SCENES[i % len(_SCENES)]
        out.append(Scene(i + 1, heading, action, tuple(Line(c, t) for c, t in lines)))
    return out


def to_fountain(title: str, scenes: list[Scene]) -> str:
    """The screenplay in Fountain, the plain-text screenplay format, with forced scene numbers."""
    parts = [f"Title: {title}", "Credit: Written by", "Author: posthouse demo", "", ""]
    for sc in scenes:
        parts += [f"{sc.heading} #{sc.number}#", "", sc.action, ""]
        for line in sc.lines:
            parts += [line.character, line.text, ""]
    return "\n".join(parts)


def write_script(folder: Path, title: str, scenes: list[Scene]) -> tuple[Path, Path]:
    """Write ``script.fountain`` and ``script.json`` into ``folder``."""
    fountain = folder / "script.fountain"
    js = folder / "script.json"
    atomic_write_text(fountain, to_fountain(title, scenes))
    atomic_write_text(js, json.dumps({"title": title, "scenes": [s.to_dict() for s in scenes]}, indent=2))
    return fountain, js
