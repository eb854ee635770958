"""Projects and the catalog: settings on disk, migrations, scanning media in."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from posthouse.core.catalog import Base, Catalog, sqlite_url
from posthouse.core.catalog.scan import find_media, scan_into_catalog
from posthouse.core.errors import ProjectError, UsageError
from posthouse.core.jobs import SerialExecutor
from posthouse.core.project import CONFIG_NAME, Project


def test_init_writes_settings_catalog_and_stage_folders(tmp_path: Path) -> None:
    p = Project.init(tmp_path / "film", fps="23.976", resolution="2048x858")
    assert (p.root / CONFIG_NAME).is_file()
    assert (p.root / ".posthouse" / "catalog.db").is_file()
    assert all((p.root / d).is_dir() for d in ("cuts", "turnovers", "sound", "score", "finish", "deliver"))
    again = Project.open(p.root)
    assert again.config.fps == "23.976"
    assert again.config.rate.fps == Fraction(24000, 1001)
    assert (again.config.width, again.config.height) == (2048, 858)
    assert again.config.name == "film"
    assert set(again.catalog.tables()) >= {"media", "jobs", "alembic_version"}
    assert again.catalog.revision() == "0005"


def test_project_is_found_from_a_subfolder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    Project.init(tmp_path / "film")
    sub = tmp_path / "film" / "cuts"
    monkeypatch.chdir(sub)
    assert Project.open().root == (tmp_path / "film").resolve()


def test_no_project_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ProjectError, match="posthouse init"):
        Project.open(tmp_path)


def test_init_refuses_to_overwrite_and_bad_settings(tmp_path: Path) -> None:
    Project.init(tmp_path / "film")
    with pytest.raises(ProjectError, match="already exists"):
        Project.init(tmp_path / "film")
    with pytest.raises(UsageError, match="even"):
        Project.init(tmp_path / "b", resolution="1921x1080")
    with pytest.raises(UsageError, match="drop-frame"):
        Project.init(tmp_path / "c", fps="24", drop_frame=True)
    with pytest.raises(ValueError, match="27"):
        Project.init(tmp_path / "d", fps="27")


def test_broken_settings_name_the_file(tmp_path: Path) -> None:
    p = Project.init(tmp_path / "film")
    (p.root / CONFIG_NAME).write_text("[project\nname=", encoding="utf-8")
    with pytest.raises(ProjectError, match=CONFIG_NAME):
        Project.open(p.root)


def test_migrations_match_the_models(tmp_path: Path) -> None:
    import posthouse.pipeline.lineage  # noqa: F401  (its stage_runs/stage_chunks tables join Base)
    from posthouse.web.models import ReviewBase

    cat = Catalog(sqlite_url(tmp_path / "c.db"))
    cat.upgrade()
    with cat.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), [Base.metadata, ReviewBase.metadata])
    assert diff == []


def test_scan_catalogs_media_skips_unchanged_and_reports_damage(tmp_path: Path, movie_factory) -> None:
    p = Project.init(tmp_path / "film")
    media = tmp_path / "card"
    media.mkdir()
    movie_factory("card/A001C001.mov", metadata={"scene": "12A", "take": "3"})
    (media / "broken.mov").write_bytes(b"\0\0\0\x08ftyp" + b"\0" * 50)
    (media / "notes.txt").write_text("not media")
    assert [f.name for f in find_media([media])] == ["A001C001.mov", "broken.mov"]

    report = scan_into_catalog(p.catalog, [media], relpath=p.relpath, executor=SerialExecutor())
    assert len(report.added) == 2
    assert len(report.damaged) == 1 and not report.ok
    recs = {Path(r.path).name: r for r in p.catalog.media()}
    clip = recs["A001C001.mov"]
    assert (clip.kind, clip.role, clip.reel, clip.start_timecode) == (
        "video",
        "picture",
        "A001",
        "01:00:00:00",
    )
    assert (clip.scene, clip.take, clip.frames, clip.rate) == ("12A", "3", 12, "24/1")
    assert clip.xxh64 and len(clip.xxh64) == 16
    assert recs["broken.mov"].damaged

    again = scan_into_catalog(p.catalog, [media], relpath=p.relpath, executor=SerialExecutor())
    assert len(again.unchanged) == 2 and not again.added and not again.updated
