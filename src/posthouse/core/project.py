"""A posthouse project on disk: ``posthouse.toml`` settings plus the catalog under ``.posthouse/``.

::

    myfilm/
      posthouse.toml
      .posthouse/catalog.db
      cuts/ turnovers/ sound/ score/ finish/ deliver/
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import tomli_w

from posthouse.core.catalog import Catalog, sqlite_url
from posthouse.core.errors import ProjectError, UsageError
from posthouse.core.fsutil import atomic_write_text
from posthouse.core.time import Rate

__all__ = ["CONFIG_NAME", "Project", "ProjectConfig", "find_project_root"]

CONFIG_NAME = "posthouse.toml"
STATE_DIR = ".posthouse"
STAGE_DIRS = ("cuts", "turnovers", "sound", "score", "finish", "deliver")
ENV_PROJECT = "POSTHOUSE_PROJECT"


@dataclass(frozen=True, slots=True)
class ProjectConfig:
    """The settings in ``posthouse.toml``."""

    name: str
    fps: str = "24"
    width: int = 1920
    height: int = 1080
    drop_frame: bool = False
    sample_rate: int = 48000
    bit_depth: int = 24
    catalog_url: str | None = None  # None: SQLite file in .posthouse/
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def rate(self) -> Rate:
        return Rate.parse(self.fps)

    @property
    def resolution(self) -> str:
        return f"{self.width}x{self.height}"

    def to_toml(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "project": {"name": self.name},
            "picture": {"fps": self.fps, "resolution": self.resolution, "drop_frame": self.drop_frame},
            "sound": {"sample_rate": self.sample_rate, "bit_depth": self.bit_depth},
        }
        if self.catalog_url:
            doc["catalog"] = {"url": self.catalog_url}
        doc.update(self.extra)
        return doc

    @classmethod
    def from_toml(cls, doc: dict[str, Any], path: Path) -> ProjectConfig:
        try:
            proj, pic, snd = doc.get("project", {}), doc.get("picture", {}), doc.get("sound", {})
            width, height = parse_resolution(str(pic.get("resolution", "1920x1080")))
            cfg = cls(
                name=str(proj["name"]),
                fps=str(pic.get("fps", "24")),
                width=width,
                height=height,
                drop_frame=bool(pic.get("drop_frame", False)),
                sample_rate=int(snd.get("sample_rate", 48000)),
                bit_depth=int(snd.get("bit_depth", 24)),
                catalog_url=doc.get("catalog", {}).get("url"),
                extra={k: v for k, v in doc.items() if k not in ("project", "picture", "sound", "catalog")},
            )
            cfg.rate  # noqa: B018 - validates the frame rate
        except (KeyError, TypeError, ValueError) as exc:
            raise ProjectError(
                f"invalid setting: {exc}",
                path=path,
                hint="fix the file or re-create it with `posthouse init`",
            ) from exc
        return cfg


def parse_resolution(text: str) -> tuple[int, int]:
    """``"1920x1080"`` → ``(1920, 1080)``; rejects odd or non-positive sizes."""
    m = re.fullmatch(r"\s*(\d+)\s*[xX×]\s*(\d+)\s*", text)
    if not m:
        raise UsageError(f"resolution '{text}' is not WIDTHxHEIGHT (e.g. 1920x1080)")
    w, h = int(m.group(1)), int(m.group(2))
    if w <= 0 or h <= 0 or w % 2 or h % 2:
        raise UsageError(f"resolution '{text}' must have positive, even width and height")
    return w, h


def find_project_root(start: str | Path | None = None) -> Path:
    """The nearest folder at or above ``start`` holding a project.

    ``start`` defaults to ``$POSTHOUSE_PROJECT``, then the working directory.
    """
    if start is None:
        start = os.environ.get(ENV_PROJECT) or Path.cwd()
    here = Path(start).resolve()
    for folder in (here, *here.parents):
        if (folder / CONFIG_NAME).is_file():
            return folder
    raise ProjectError(
        f"no {CONFIG_NAME} here or in any parent folder",
        path=here,
        hint="run `posthouse init DIR` or pass --project DIR",
    )


class Project:
    """An opened project: its root folder, settings and catalog."""

    def __init__(self, root: Path, config: ProjectConfig) -> None:
        self.root = root
        self.config = config
        self._catalog: Catalog | None = None

    @classmethod
    def init(
        cls,
        root: str | Path,
        *,
        fps: str = "24",
        resolution: str = "1920x1080",
        name: str | None = None,
        drop_frame: bool = False,
        sample_rate: int = 48000,
        catalog_url: str | None = None,
    ) -> Project:
        """Create a project in ``root`` (created if missing); refuses to overwrite an existing one."""
        root = Path(root).resolve()
        if (root / CONFIG_NAME).exists():
            raise ProjectError(
                f"a project already exists here ({CONFIG_NAME})",
                path=root,
                hint="open it instead, or choose another folder",
            )
        width, height = parse_resolution(resolution)
        rate = Rate.parse(fps)
        if drop_frame and not rate.drop_capable:
            raise UsageError(f"drop-frame timecode does not exist at {rate} fps (only 29.97 and 59.94)")
        config = ProjectConfig(
            name=name or root.name,
            fps=str(rate),
            width=width,
            height=height,
            drop_frame=drop_frame,
            sample_rate=sample_rate,
            catalog_url=catalog_url,
        )
        root.mkdir(parents=True, exist_ok=True)
        (root / STATE_DIR).mkdir(exist_ok=True)
        for d in STAGE_DIRS:
            (root / d).mkdir(exist_ok=True)
        project = cls(root, config)
        project.catalog.upgrade()
        atomic_write_text(root / CONFIG_NAME, tomli_w.dumps(config.to_toml()))
        return project

    @classmethod
    def open(cls, root: str | Path | None = None) -> Project:
        """Open the project at or above ``root`` (default: ``$POSTHOUSE_PROJECT`` or the cwd)."""
        found = find_project_root(root)
        path = found / CONFIG_NAME
        try:
            doc = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ProjectError(f"not valid TOML: {exc}", path=path) from exc
        project = cls(found, ProjectConfig.from_toml(doc, path))
        project.catalog.upgrade()
        return project

    @property
    def catalog_url(self) -> str:
        return self.config.catalog_url or sqlite_url(self.root / STATE_DIR / "catalog.db")

    @property
    def catalog(self) -> Catalog:
        if self._catalog is None:
            self._catalog = Catalog(self.catalog_url)
        return self._catalog

    def relpath(self, path: str | Path) -> str:
        """``path`` relative to the project root when inside it, else absolute (as the catalog stores it)."""
        p = Path(path).resolve()
        try:
            return p.relative_to(self.root).as_posix()
        except ValueError:
            return p.as_posix()

    def abspath(self, stored: str) -> Path:
        """The absolute path of a path as stored in the catalog."""
        p = Path(stored)
        return p if p.is_absolute() else self.root / p

    def save_config(self, config: ProjectConfig) -> None:
        """Replace the settings (atomically)."""
        atomic_write_text(self.root / CONFIG_NAME, tomli_w.dumps(config.to_toml()))
        self.config = config

    def with_settings(self, **changes: Any) -> ProjectConfig:
        return replace(self.config, **changes)

    def describe(self) -> dict[str, Any]:
        return {"root": str(self.root), "catalog": self.catalog_url, **asdict(self.config)}

    def close(self) -> None:
        if self._catalog is not None:
            self._catalog.close()
            self._catalog = None
