"""Logging the dailies: probe files into the project catalog, then fill their metadata."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from posthouse.core.catalog.scan import ScanReport, scan_into_catalog
from posthouse.core.jobs import Executor
from posthouse.core.progress import NULL_PROGRESS, CancelToken, Progress
from posthouse.core.project import Project
from posthouse.picture.metadata import DEFAULT_PATTERNS, apply_metadata, find_reports

__all__ = ["log_media", "project_patterns"]


def project_patterns(project: Project) -> tuple[str, ...]:
    """File-name patterns from ``[metadata] filename_patterns`` in posthouse.toml, else the defaults."""
    section = project.config.extra.get("metadata", {})
    patterns = section.get("filename_patterns") if isinstance(section, dict) else None
    if isinstance(patterns, list) and all(isinstance(p, str) for p in patterns):
        return tuple(patterns)
    return DEFAULT_PATTERNS


def log_media(
    project: Project,
    paths: Sequence[str | Path],
    *,
    reports: Sequence[str | Path] = (),
    executor: Executor | None = None,
    progress: Progress = NULL_PROGRESS,
    cancel: CancelToken | None = None,
    rescan: bool = False,
) -> ScanReport:
    """Probe media under ``paths`` into the catalog and fill metadata from reports found there too.

    Camera and sound reports (CSV) are taken from ``reports`` and from any report CSV under ``paths``.
    """
    report = scan_into_catalog(
        project.catalog,
        paths,
        relpath=project.relpath,
        executor=executor,
        progress=progress,
        cancel=cancel,
        rescan=rescan,
    )
    found = [*map(Path, reports), *find_reports(paths)]
    apply_metadata(
        project.catalog,
        reports=found,
        patterns=project_patterns(project),
        rate=project.config.rate,
        drop_frame=project.config.drop_frame,
    )
    return report
