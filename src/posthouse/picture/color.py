"""Show LUT and ASC CDL for dailies, applied through OpenColorIO.

Order: the CDL first, then the show LUT. That is the usual dailies (and on-set) order: the colorist's
CDL is a per-shot trim made in the camera's scene/log encoding, and the show LUT turns that into the
display image. Both work on the decoded picture's normalised R'G'B' code values (0..1, as the camera
recorded them), so a log-to-Rec.709 ``.cube`` sees exactly the signal it was built for.

A :class:`ColorPipeline` builds one OpenColorIO processor per take (a raw config, a group of a
``CDLTransform`` and a ``FileTransform``) and applies it to whole frames: 16-bit RGB in (the 10-bit
camera original decoded without rounding to 8 bits), 8-bit RGB out, rounding and clamping done by OCIO.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from posthouse.core.errors import UsageError

__all__ = ["CDL_SUFFIXES", "LUT_SUFFIXES", "Cdl", "ColorPipeline", "read_cdl"]

CDL_SUFFIXES = (".cdl", ".cc", ".ccc")
LUT_SUFFIXES = (".cube",)


@dataclass(frozen=True, slots=True)
class Cdl:
    """One ASC CDL correction: slope, offset, power per channel, and saturation."""

    slope: tuple[float, float, float] = (1.0, 1.0, 1.0)
    offset: tuple[float, float, float] = (0.0, 0.0, 0.0)
    power: tuple[float, float, float] = (1.0, 1.0, 1.0)
    saturation: float = 1.0
    id: str | None = None

    @property
    def is_identity(self) -> bool:
        return self == Cdl(id=self.id)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1].lower()


def _child(el: ET.Element, name: str) -> ET.Element | None:
    for sub in el.iter():
        if sub is not el and _local(sub.tag) == name:
            return sub
    return None


def _triple(el: ET.Element, name: str, default: float, path: Path) -> tuple[float, float, float]:
    node = _child(el, name)
    if node is None or not (node.text or "").strip():
        return (default, default, default)
    try:
        values = [float(v) for v in (node.text or "").split()]
    except ValueError as exc:
        raise UsageError(f"<{node.tag.rsplit('}', 1)[-1]}> is not three numbers", path=path) from exc
    if len(values) != 3:
        raise UsageError(f"<{node.tag.rsplit('}', 1)[-1]}> has {len(values)} values, expected 3", path=path)
    return (values[0], values[1], values[2])


def read_cdl(path: str | Path, *, prefer: Sequence[str] = ()) -> Cdl:
    """Read an ASC CDL file (``.cdl``, ``.cc`` or ``.ccc``; any namespace) into a :class:`Cdl`.

    A collection may hold many corrections: the first whose ``id`` equals one of ``prefer`` (say the
    clip and the take name) is used, else the first one. Raises :class:`UsageError` naming the file.
    """
    p = Path(path)
    try:
        root = ET.parse(p).getroot()
    except FileNotFoundError as exc:
        raise UsageError("CDL file not found", path=p) from exc
    except (ET.ParseError, OSError) as exc:
        raise UsageError(f"not a readable ASC CDL XML file: {exc}", path=p) from exc
    corrections = [el for el in root.iter() if _local(el.tag) == "colorcorrection"]
    if not corrections:
        raise UsageError("no <ColorCorrection> in the file", path=p, hint="an ASC CDL .cc/.ccc/.cdl file")
    chosen = corrections[0]
    for el in corrections:
        if el.get("id") in prefer:
            chosen = el
            break
    sat_node = _child(chosen, "saturation")
    try:
        sat = float((sat_node.text or "1").strip()) if sat_node is not None else 1.0
    except ValueError as exc:
        raise UsageError("<Saturation> is not a number", path=p) from exc
    return Cdl(
        slope=_triple(chosen, "slope", 1.0, p),
        offset=_triple(chosen, "offset", 0.0, p),
        power=_triple(chosen, "power", 1.0, p),
        saturation=sat,
        id=chosen.get("id"),
    )


class ColorPipeline:
    """CDL then LUT, compiled once into an OpenColorIO CPU processor (16-bit RGB in, 8-bit RGB out)."""

    def __init__(self, *, lut: str | Path | None = None, cdl: Cdl | None = None) -> None:
        import PyOpenColorIO as ocio

        self.lut = Path(lut) if lut is not None else None
        self.cdl = cdl
        group = ocio.GroupTransform()
        if cdl is not None:
            t = ocio.CDLTransform()
            t.setSlope(list(cdl.slope))
            t.setOffset(list(cdl.offset))
            t.setPower(list(cdl.power))
            t.setSat(cdl.saturation)
            t.setStyle(ocio.CDL_ASC)  # ASC CDL v1.2: clamps to 0..1 as every dailies system does
            group.appendTransform(t)
        if self.lut is not None:
            if not self.lut.is_file():
                raise UsageError("LUT file not found", path=self.lut)
            group.appendTransform(
                ocio.FileTransform(src=str(self.lut.resolve()), interpolation=ocio.INTERP_BEST)
            )
        try:
            processor = ocio.Config.CreateRaw().getProcessor(group)
            self._cpu: Any = processor.getOptimizedCPUProcessor(
                ocio.BIT_DEPTH_UINT16, ocio.BIT_DEPTH_UINT8, ocio.OPTIMIZATION_DEFAULT
            )
        except ocio.Exception as exc:
            raise UsageError(
                f"OpenColorIO cannot use it: {exc}", path=self.lut, hint="a .cube 1D/3D LUT is expected"
            ) from exc
        self._ocio = ocio

    @classmethod
    def from_files(
        cls, *, lut: str | Path | None = None, cdl: str | Path | None = None, prefer: Sequence[str] = ()
    ) -> ColorPipeline | None:
        """A pipeline for a LUT file and/or a CDL file; ``None`` when neither is given."""
        if lut is None and cdl is None:
            return None
        return cls(lut=lut, cdl=read_cdl(cdl, prefer=prefer) if cdl is not None else None)

    def apply(
        self, rgb16: npt.NDArray[np.uint16], out: npt.NDArray[np.uint8] | None = None
    ) -> npt.NDArray[np.uint8]:
        """Grade a ``(H, W, 3)`` 16-bit RGB frame into ``out`` (a new 8-bit array when not given)."""
        h, w, _ = rgb16.shape
        src = np.ascontiguousarray(rgb16, dtype=np.uint16)
        dst = np.empty((h, w, 3), np.uint8) if out is None else out
        ocio = self._ocio
        self._cpu.apply(
            ocio.PackedImageDesc(src, w, h, 3, ocio.BIT_DEPTH_UINT16, 2, 6, w * 6),
            ocio.PackedImageDesc(dst, w, h, 3, ocio.BIT_DEPTH_UINT8, 1, 3, w * 3),
        )
        return dst

    def describe(self) -> str:
        """A one-line description for reports (``CDL <id> → LUT name.cube``)."""
        parts: list[str] = []
        if self.cdl is not None:
            parts.append(f"CDL {self.cdl.id}" if self.cdl.id else "CDL")
        if self.lut is not None:
            parts.append(f"LUT {self.lut.name}")
        return " → ".join(parts)
