"""Grading through OpenColorIO with the built-in ACES configs: input → ACEScct (CDL, LUT) → display.

One OCIO processor per grade, a ``GroupTransform``:

1. **input**: the footage's color space into the working space. Default ``"rec709-inverse"``: the inverse
   of the Rec.709 ACES output (display ``Rec.1886 Rec.709 - Display``, view ``ACES 2.0 - SDR 100 nits``), the
   usual way to bring display-referred Rec.709 video (our synthetic camera files, phone footage, stock)
   into ACES so that an ungraded shot looks unchanged. Any color space of the config is accepted too, e.g.
   ``"Camera Rec.709"``, ``"ARRI LogC3 (EI800)"``, ``"ARRI LogC4"``, ``"S-Log3 S-Gamut3.Cine"``,
   ``"V-Log V-Gamut"``, ``"Linear Rec.709 (sRGB)"``, ``"ACEScct"`` (see :func:`input_spaces`).
2. **working space** ``ACEScct``: the CDL (``CDLTransform``, ASC v1.2 style) is applied here, as
   colorists do, then an optional ``.cube`` (``FileTransform``, also in ACEScct).
3. **output**: ``"rec709"`` (Rec.1886 Rec.709 display, ACES 2.0 SDR 100 nits Rec.709 view), ``"p3"``
   (Gamma 2.6 P3-D65 display, ACES 2.0 SDR 100 nits P3-D65 view) or ``"working"`` (stay in ACEScct;
   for tests and LUT baking).

Processors are cached per (CDL, LUT). :meth:`GradePipeline.apply` runs OCIO's CPU processor exactly on
float32 RGB; :meth:`GradePipeline.apply_u8` grades 8-bit frames exactly through a memoised per-grade
lookup table of every 8-bit colour (OCIO runs only on colours not seen before) — the fast path the
renderer and the bench use.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import numpy.typing as npt

from posthouse.core.errors import UsageError
from posthouse.core.fsutil import atomic_write_text
from posthouse.finish.cdl import Cdl, cdl_to_xml, read_cdl_file

if TYPE_CHECKING:
    import PyOpenColorIO as OCIO

__all__ = [
    "DEFAULT_CONFIG",
    "DEFAULT_INPUT",
    "OUTPUTS",
    "WORKING_SPACE",
    "GradePipeline",
    "GradeSet",
    "bake_cube",
    "grades_dir",
    "input_spaces",
    "read_cube",
    "write_cube",
]

DEFAULT_CONFIG: Final = "ocio://studio-config-latest"
WORKING_SPACE: Final = "ACEScct"
DEFAULT_INPUT: Final = "rec709-inverse"
OUTPUTS: Final[dict[str, tuple[str, str]]] = {
    "rec709": ("Rec.1886 Rec.709 - Display", "ACES 2.0 - SDR 100 nits (Rec.709)"),
    "p3": ("Gamma 2.6 P3-D65 - Display", "ACES 2.0 - SDR 100 nits (P3 D65)"),
}
_INVERSE_INPUTS: Final[dict[str, str]] = {"rec709-inverse": "rec709", "p3-inverse": "p3"}
_BAKE_SIZE: Final = 65


def _ocio() -> Any:
    import PyOpenColorIO

    return PyOpenColorIO


_CONFIGS: dict[str, Any] = {}


def _config(name: str) -> Any:
    if name not in _CONFIGS:
        ocio = _ocio()
        try:
            _CONFIGS[name] = ocio.Config.CreateFromFile(name)
        except Exception as exc:  # OCIO raises its own Exception type
            raise UsageError(
                f"cannot load OCIO config {name!r}: {exc}", hint=f"try {DEFAULT_CONFIG}"
            ) from exc
    return _CONFIGS[name]


def input_spaces(config: str = DEFAULT_CONFIG) -> list[str]:
    """Input choices: the inverse-output keys plus every color space of ``config``."""
    cfg = _config(config)
    return [*_INVERSE_INPUTS, *(cs.getName() for cs in cfg.getColorSpaces())]


@dataclass(slots=True)
class GradePipeline:
    """input → ACEScct → CDL → optional LUT → output, built and cached with OCIO."""

    input_space: str = DEFAULT_INPUT
    output: str = "rec709"
    config: str = DEFAULT_CONFIG
    max_tables: int = 4
    lut_interpolation: str = "best"  # OCIO interpolation of the .cube: best (tetrahedral), linear, ...
    _cache: dict[tuple[Any, ...], Any] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        cfg = _config(self.config)
        if self.output != "working" and self.output not in OUTPUTS:
            raise UsageError(f"unknown output {self.output!r}", hint=f"one of {', '.join(OUTPUTS)}, working")
        if self.input_space not in _INVERSE_INPUTS and cfg.getColorSpace(self.input_space) is None:
            near = [n for n in input_spaces(self.config) if self.input_space.lower()[:4] in n.lower()]
            raise UsageError(
                f"unknown input color space {self.input_space!r} in {self.config}",
                hint=f"close names: {', '.join(near[:6])}" if near else "see `input_spaces()`",
            )

    def group(self, cdl: Cdl | None = None, lut: str | Path | None = None) -> OCIO.GroupTransform:
        """The OCIO ``GroupTransform`` of one grade."""
        ocio = _ocio()
        g = ocio.GroupTransform()
        if self.input_space in _INVERSE_INPUTS:
            display, view = OUTPUTS[_INVERSE_INPUTS[self.input_space]]
            g.appendTransform(
                ocio.DisplayViewTransform(
                    src=WORKING_SPACE, display=display, view=view, direction=ocio.TRANSFORM_DIR_INVERSE
                )
            )
        elif self.input_space != WORKING_SPACE:
            g.appendTransform(ocio.ColorSpaceTransform(src=self.input_space, dst=WORKING_SPACE))
        if cdl is not None and not cdl.is_identity:
            t = ocio.CDLTransform()
            t.setSlope(list(cdl.slope))
            t.setOffset(list(cdl.offset))
            t.setPower(list(cdl.power))
            t.setSat(cdl.saturation)
            t.setStyle(ocio.CDL_ASC)
            g.appendTransform(t)
        if lut is not None:
            p = Path(lut)
            if not p.is_file():
                raise UsageError("LUT file not found", path=p)
            interp = getattr(ocio, f"INTERP_{self.lut_interpolation.upper()}", None)
            if interp is None:
                raise UsageError(f"unknown LUT interpolation {self.lut_interpolation!r}", hint="best, linear")
            ft = ocio.FileTransform(src=str(p), interpolation=interp)
            g.appendTransform(ft)
        if self.output != "working":
            display, view = OUTPUTS[self.output]
            g.appendTransform(ocio.DisplayViewTransform(src=WORKING_SPACE, display=display, view=view))
        return g

    def _key(self, cdl: Cdl | None, lut: str | Path | None) -> tuple[Any, ...]:
        c = None if cdl is None or cdl.is_identity else (cdl.slope, cdl.offset, cdl.power, cdl.saturation)
        lk = None
        if lut is not None:
            p = Path(lut)
            lk = (str(p.resolve()), p.stat().st_mtime_ns if p.exists() else 0)
        return (c, lk)

    def processor(self, cdl: Cdl | None = None, lut: str | Path | None = None) -> Any:
        """The cached OCIO CPU processor (float32 RGB) of one grade."""
        key = ("cpu", *self._key(cdl, lut))
        if key not in self._cache:
            try:
                proc = _config(self.config).getProcessor(self.group(cdl, lut))
            except UsageError:
                raise
            except Exception as exc:
                raise UsageError(
                    f"OCIO cannot build the grade: {exc}", path=Path(lut) if lut else None
                ) from exc
            self._cache[key] = proc.getDefaultCPUProcessor()
        return self._cache[key]

    def baked(self, cdl: Cdl | None = None, lut: str | Path | None = None, size: int = _BAKE_SIZE) -> Any:
        """The grade baked into a ``size``³ tetrahedral 3D LUT, as a cached CPU processor."""
        key = ("baked", size, *self._key(cdl, lut))
        if key not in self._cache:
            table = bake_cube(self, cdl, lut, size)
            self._cache[key] = _lut3d_processor(table)
        return self._cache[key]

    def apply(
        self, rgb: npt.NDArray[Any], cdl: Cdl | None = None, lut: str | Path | None = None
    ) -> npt.NDArray[np.float32]:
        """Grade float RGB ``(..., 3)`` exactly with OCIO (a new float32 array; the input is untouched)."""
        out = np.array(rgb, dtype=np.float32, order="C", copy=True)
        if out.shape[-1] != 3:
            raise UsageError(f"expected RGB (..., 3), got shape {out.shape}")
        self.processor(cdl, lut).applyRGB(out.reshape(-1, 3))
        return out

    def apply_u8(
        self, rgb: npt.NDArray[np.uint8], cdl: Cdl | None = None, lut: str | Path | None = None
    ) -> npt.NDArray[np.uint8]:
        """Grade 8-bit RGB ``(..., 3)`` frames exactly, fast: through a memoised 2²⁴-entry lookup table.

        Each grade keeps a table of every 8-bit colour graded so far; a frame runs OCIO's exact processor
        only on the colours the table has not seen (``np.unique``), then is one gather. Consecutive frames
        of a shot share almost all colours, so after the first frame grading costs a table lookup. Tables
        (64 MiB each) are kept for the last :attr:`max_tables` grades.
        """
        if rgb.dtype != np.uint8 or rgb.shape[-1] != 3:
            raise UsageError(f"expected uint8 RGB (..., 3), got {rgb.dtype} {rgb.shape}")
        key = ("u8", *self._key(cdl, lut))
        memo = self._cache.get(key)
        if memo is None:
            memo = np.zeros(1 << 24, np.uint32)  # 0 = not graded yet, else 1<<24 | B<<16 | G<<8 | R
            tables = [k for k in self._cache if k[0] == "u8"]
            for old in tables[: max(0, len(tables) - self.max_tables + 1)]:
                del self._cache[old]
            self._cache[key] = memo
        else:  # most recently used last
            self._cache[key] = self._cache.pop(key)
        table: npt.NDArray[np.uint32] = memo
        codes = (rgb[..., 0].astype(np.uint32) << 16) | (rgb[..., 1].astype(np.uint32) << 8) | rgb[..., 2]
        packed = table[codes]
        missing = packed == 0
        if missing.any():
            new = np.unique(codes[missing])
            cols = np.empty((new.size, 3), np.float32)
            cols[:, 0] = (new >> 16) & 0xFF
            cols[:, 1] = (new >> 8) & 0xFF
            cols[:, 2] = new & 0xFF
            cols *= np.float32(1.0 / 255.0)
            self.processor(cdl, lut).applyRGB(cols)
            np.clip(cols, 0.0, 1.0, out=cols)
            q = (cols * 255.0 + 0.5).astype(np.uint32)
            table[new] = (1 << 24) | (q[:, 2] << 16) | (q[:, 1] << 8) | q[:, 0]
            packed = table[codes]
        out: npt.NDArray[np.uint8] = packed.view(np.uint8).reshape(*packed.shape, 4)[..., :3]
        if not out.flags.c_contiguous:
            out = np.ascontiguousarray(out)
        return out

    def apply_u8_baked(
        self, rgb: npt.NDArray[np.uint8], cdl: Cdl | None = None, lut: str | Path | None = None
    ) -> npt.NDArray[np.uint8]:
        """Grade 8-bit RGB through the grade baked into a 65³ tetrahedral 3D LUT (approximate: the ACES
        output's gamut compression is not smooth near saturated corners; use :meth:`apply_u8`)."""
        f = rgb.astype(np.float32) * np.float32(1.0 / 255.0)
        self.baked(cdl, lut).applyRGB(f.reshape(-1, 3))
        np.clip(f, 0.0, 1.0, out=f)
        f *= 255.0
        f += 0.5
        return f.astype(np.uint8)


def _lut3d_processor(table: npt.NDArray[np.float32]) -> Any:
    ocio = _ocio()
    n = table.shape[0]
    t = ocio.Lut3DTransform(gridSize=n)
    t.setData(np.ascontiguousarray(table, dtype=np.float32).ravel())  # [r][g][b] order, blue fastest
    t.setInterpolation(ocio.INTERP_TETRAHEDRAL)
    return _config(DEFAULT_CONFIG).getProcessor(t).getDefaultCPUProcessor()


def bake_cube(
    pipeline: GradePipeline, cdl: Cdl | None = None, lut: str | Path | None = None, size: int = 33
) -> npt.NDArray[np.float32]:
    """Sample a grade on a ``size``³ grid: array ``[r, g, b, 3]`` (index 0 = red)."""
    axis = np.linspace(0.0, 1.0, size, dtype=np.float32)
    r, g, b = np.meshgrid(axis, axis, axis, indexing="ij")
    grid = np.stack([r, g, b], axis=-1)
    return pipeline.apply(grid, cdl, lut)


def write_cube(path: str | Path, table: npt.NDArray[np.float32], title: str = "posthouse") -> Path:
    """Write a ``[r, g, b, 3]`` table as a Resolve/IRIDAS ``.cube`` (red fastest in the file)."""
    n = table.shape[0]
    rows = np.ascontiguousarray(table.transpose(2, 1, 0, 3)).reshape(-1, 3)  # b slowest, r fastest
    lines = [f'TITLE "{title}"', f"LUT_3D_SIZE {n}", "DOMAIN_MIN 0.0 0.0 0.0", "DOMAIN_MAX 1.0 1.0 1.0"]
    body = "\n".join(" ".join(f"{v:.6f}" for v in row) for row in rows.tolist())
    atomic_write_text(path, "\n".join(lines) + "\n" + body + "\n")
    return Path(path)


def read_cube(path: str | Path) -> npt.NDArray[np.float32]:
    """Read a 3D ``.cube`` into a ``[r, g, b, 3]`` table (domain 0..1 assumed)."""
    p = Path(path)
    size = 0
    values: list[str] = []
    for lineno, line in enumerate(p.read_text().splitlines(), 1):
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        if s.upper().startswith("LUT_3D_SIZE"):
            size = int(s.split()[1])
        elif re.match(r"^[-+0-9.]", s):
            values.append(s)
        elif s.upper().startswith("LUT_1D_SIZE"):
            raise UsageError("1D .cube LUTs are not supported here", path=p, where=f"line {lineno}")
    if size < 2 or len(values) != size**3:
        raise UsageError(f"expected {size**3} LUT rows, found {len(values)}", path=p)
    arr = np.array(" ".join(values).split(), dtype=np.float32).reshape(size, size, size, 3)  # [b, g, r]
    return np.ascontiguousarray(arr.transpose(2, 1, 0, 3))


# --- grade sets ---------------------------------------------------------------------------------------

_SCENE_PREFIX: Final = "scene:"


@dataclass(slots=True)
class GradeSet:
    """Grades per shot (clip name / shot id) and per scene; a shot's grade overrides its scene's."""

    shots: dict[str, Cdl] = field(default_factory=dict)
    scenes: dict[str, Cdl] = field(default_factory=dict)
    lut: str | None = None
    input_space: str = DEFAULT_INPUT

    def grade_for(self, shot: str, scene: str | None = None) -> Cdl | None:
        """The grade of ``shot``: its own, else its scene's, else None (ungraded)."""
        if shot in self.shots:
            return self.shots[shot]
        if scene is not None and str(scene) in self.scenes:
            return self.scenes[str(scene)]
        return None

    def all_cdls(self) -> list[Cdl]:
        """Shots then scenes (scene ids prefixed ``scene:``), as written to a CCC."""
        out = [c.with_id(k) for k, c in self.shots.items()]
        out += [c.with_id(_SCENE_PREFIX + k) for k, c in self.scenes.items()]
        return out

    @classmethod
    def from_cdls(cls, cdls: list[Cdl]) -> GradeSet:
        """Grades from a CDL list: ids ``scene:X`` are scene grades, the others shot grades."""
        gs = cls()
        for c in cdls:
            if c.id.lower().startswith(_SCENE_PREFIX):
                gs.scenes[c.id[len(_SCENE_PREFIX) :]] = c
            else:
                gs.shots[c.id] = c
        return gs

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping."""
        return {
            "version": 1,
            "input_space": self.input_space,
            "lut": self.lut,
            "shots": {k: c.to_dict() for k, c in self.shots.items()},
            "scenes": {k: c.to_dict() for k, c in self.scenes.items()},
        }

    @classmethod
    def load(cls, path: str | Path) -> GradeSet:
        """Read a ``grades.json`` (ours) or any file :func:`read_cdl_file` reads (.ccc, .cdl, .cc, .edl)."""
        p = Path(path)
        if p.suffix.lower() == ".json":
            try:
                data = json.loads(p.read_text())
            except (OSError, json.JSONDecodeError) as exc:
                raise UsageError(f"cannot read grades: {exc}", path=p) from exc
            if isinstance(data, dict) and ("shots" in data or "scenes" in data):
                return cls(
                    {k: Cdl.from_dict({**v, "id": k}) for k, v in data.get("shots", {}).items()},
                    {k: Cdl.from_dict({**v, "id": k}) for k, v in data.get("scenes", {}).items()},
                    data.get("lut"),
                    data.get("input_space", DEFAULT_INPUT),
                )
        return cls.from_cdls(read_cdl_file(p))

    def save(self, folder: str | Path) -> tuple[Path, Path]:
        """Write ``grades.json`` and ``grades.ccc`` into ``folder``; returns both paths."""
        d = Path(folder)
        d.mkdir(parents=True, exist_ok=True)
        js, ccc = d / "grades.json", d / "grades.ccc"
        atomic_write_text(js, json.dumps(self.to_dict(), indent=2) + "\n")
        atomic_write_text(ccc, cdl_to_xml(self.all_cdls(), "ccc"))
        return js, ccc


def grades_dir(project_root: str | Path, cut: str, version: int) -> Path:
    """``PROJECT/finish/CUT_vNNN/grades`` (not created)."""
    return Path(project_root) / "finish" / f"{cut}_v{version:03d}" / "grades"
