"""The OCIO grading pipeline, .cube LUTs, grade sets and shot matching."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from posthouse.core.errors import UsageError
from posthouse.finish.cdl import Cdl, apply_cdl, read_cdl_file
from posthouse.finish.grading import GradePipeline, GradeSet, bake_cube, grades_dir, read_cube, write_cube
from posthouse.finish.matching import match_shot

pytest.importorskip("PyOpenColorIO")

WARM = Cdl("sh010", (1.1, 1.0, 0.9), (0.01, 0.0, -0.02), (1.1, 1.0, 0.95), 0.9)


def _scene(h: int = 90, w: int = 120, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    img = np.stack(
        [0.2 + 0.6 * xx / w, 0.15 + 0.6 * yy / h, 0.35 + 0.25 * np.sin(xx / 9) * np.cos(yy / 7)], -1
    )
    return (np.clip(img + rng.normal(0, 0.02, img.shape), 0, 1) * 255).astype(np.uint8)


def test_identity_grade_round_trips_through_aces() -> None:
    rng = np.random.default_rng(0)
    px = rng.uniform(0.05, 0.95, (4000, 3)).astype(np.float32)
    out = GradePipeline().apply(px)
    np.testing.assert_allclose(out, px, atol=1e-3)
    assert out is not px
    u8 = _scene()
    np.testing.assert_array_less(np.abs(GradePipeline().apply_u8(u8).astype(int) - u8), 2)


def test_cdl_in_pipeline_is_the_asc_math_in_acescct() -> None:
    rng = np.random.default_rng(1)
    px = rng.uniform(0.0, 1.0, (3000, 3)).astype(np.float32)
    got = GradePipeline(input_space="ACEScct", output="working").apply(px, WARM)
    np.testing.assert_allclose(got, apply_cdl(px, WARM, clamp=True), atol=2e-5)


def test_grade_moves_pixels_the_expected_way_and_outputs_differ() -> None:
    grey = np.full((1, 3), 0.45, np.float32)
    pipe = GradePipeline()
    warm = pipe.apply(grey, WARM)[0]
    assert warm[0] > 0.45 > warm[2]  # more red, less blue
    p3 = GradePipeline(output="p3").apply(grey)[0]
    assert abs(p3[0] - p3[1]) < 1e-3 and abs(p3[1] - p3[2]) < 1e-3  # grey stays neutral
    assert not np.allclose(p3, pipe.apply(grey)[0], atol=1e-3)  # gamma 2.6 vs Rec.1886


def test_apply_u8_is_the_exact_processor_quantised() -> None:
    pipe = GradePipeline()
    img = _scene(seed=4)
    fast = pipe.apply_u8(img, WARM)
    again = pipe.apply_u8(img, WARM)  # served from the memo table
    exact = np.clip(pipe.apply(img.astype(np.float32) / 255.0, WARM), 0, 1) * 255.0
    assert fast.shape == img.shape and fast.dtype == np.uint8
    assert np.abs(fast.astype(float) - exact).max() <= 0.51
    np.testing.assert_array_equal(fast, again)


def _trilinear(table: np.ndarray, px: np.ndarray) -> np.ndarray:
    from scipy.interpolate import RegularGridInterpolator

    axis = np.linspace(0, 1, table.shape[0])
    return np.stack(
        [RegularGridInterpolator((axis, axis, axis), table[..., c])(px) for c in range(3)], axis=-1
    )


def test_cube_lut_equals_manual_trilinear_lookup(tmp_path: Path) -> None:
    n = 5
    axis = np.linspace(0, 1, n, dtype=np.float32)
    r, g, b = np.meshgrid(axis, axis, axis, indexing="ij")
    table = np.stack([r**2, np.sqrt(g) * 0.9 + 0.05 * b, 0.5 * b + 0.3 * r], -1).astype(np.float32)
    cube = write_cube(tmp_path / "look.cube", table)
    assert f"LUT_3D_SIZE {n}" in cube.read_text()
    np.testing.assert_allclose(read_cube(cube), table, atol=1e-6)
    rng = np.random.default_rng(2)
    px = rng.uniform(0, 1, (2000, 3)).astype(np.float32)
    pipe = GradePipeline(input_space="ACEScct", output="working", lut_interpolation="linear")
    np.testing.assert_allclose(pipe.apply(px, lut=cube), _trilinear(table, px), atol=2e-5)
    # at the grid nodes any interpolation gives the table
    nodes = np.stack([r, g, b], -1).reshape(-1, 3)
    best = GradePipeline(input_space="ACEScct", output="working").apply(nodes, lut=cube)
    np.testing.assert_allclose(best, table.reshape(-1, 3), atol=2e-5)
    # the CDL comes before the LUT
    both = pipe.apply(px, WARM, cube)
    np.testing.assert_allclose(both, _trilinear(table, apply_cdl(px, WARM, clamp=True)), atol=1e-4)


def test_bake_cube_reproduces_the_grade(tmp_path: Path) -> None:
    pipe = GradePipeline(input_space="ACEScct", output="working")
    table = bake_cube(pipe, WARM, size=17)
    axis = np.linspace(0, 1, 17, dtype=np.float32)
    assert table[16, 0, 0] == pytest.approx(
        apply_cdl(np.array([[1.0, 0, 0]], np.float32), WARM, clamp=True)[0], abs=1e-4
    )
    assert table[3, 5, 7] == pytest.approx(
        apply_cdl(np.array([[axis[3], axis[5], axis[7]]], np.float32), WARM, clamp=True)[0], abs=1e-4
    )


def test_bad_names_are_usage_errors(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="unknown input color space"):
        GradePipeline(input_space="Kodak 5219")
    with pytest.raises(UsageError, match="unknown output"):
        GradePipeline(output="rec2020-hdr")
    with pytest.raises(UsageError, match="LUT file not found"):
        GradePipeline().apply(np.zeros((1, 3), np.float32), lut=tmp_path / "missing.cube")


def test_camera_log_inputs_exist_in_the_studio_config() -> None:
    for name in ("ARRI LogC3 (EI800)", "ARRI LogC4", "S-Log3 S-Gamut3.Cine", "Camera Rec.709"):
        out = GradePipeline(input_space=name).apply(np.full((1, 3), 0.4, np.float32))
        assert np.isfinite(out).all()


def test_grade_set_shot_overrides_scene_and_saves(tmp_path: Path) -> None:
    scene = Cdl("", saturation=0.5)
    gs = GradeSet(shots={"A001C003": WARM}, scenes={"12": scene}, lut="show.cube")
    assert gs.grade_for("A001C003", "12") == WARM
    assert gs.grade_for("A001C004", "12") == scene
    assert gs.grade_for("A001C004", "13") is None
    folder = grades_dir(tmp_path, "reel1", 3)
    assert folder == tmp_path / "finish" / "reel1_v003" / "grades"
    js, ccc = gs.save(folder)
    back = GradeSet.load(js)
    assert back.shots["A001C003"] == WARM.with_id("A001C003") and back.scenes["12"].saturation == 0.5
    assert back.lut == "show.cube"
    from_ccc = GradeSet.load(ccc)
    assert from_ccc.grade_for("A001C004", "12").saturation == 0.5  # type: ignore[union-attr]
    assert {c.id for c in read_cdl_file(ccc)} == {"A001C003", "scene:12"}


def test_shot_matching_recovers_a_known_cast() -> None:
    ref = _scene(seed=7)
    pipe = GradePipeline()
    cast = Cdl("cast", (1.08, 1.0, 0.92), (0.02, 0.0, -0.03))
    shot = pipe.apply_u8(ref, cast)
    before = np.abs(shot.astype(int) - ref).mean()
    matched = match_shot(shot, ref, cdl_id="sh020")
    assert matched.id == "sh020"
    assert matched.slope[0] < 1.0 < matched.slope[2] or matched.offset[0] < 0 < matched.offset[2]
    back = pipe.apply_u8(shot, matched)
    after = np.abs(back.astype(int) - ref).mean()
    assert before > 10 and after < 3, (before, after)
    means = back.reshape(-1, 3).mean(0) - ref.reshape(-1, 3).mean(0)
    assert np.abs(means).max() < 2.5


def test_cli_grade_match_writes_a_cc(tmp_path: Path) -> None:
    import typer
    from PIL import Image
    from typer.testing import CliRunner

    from posthouse.cli.finish_grade import grade_match

    app = typer.Typer()
    app.command("grade-match")(grade_match)
    app.command("noop")(lambda: None)
    ref = _scene(seed=9)
    shot = GradePipeline().apply_u8(ref, Cdl("", (1.1, 1.0, 0.9)))
    Image.fromarray(ref).save(tmp_path / "ref.png")
    Image.fromarray(shot).save(tmp_path / "sh020.png")
    res = CliRunner().invoke(
        app, ["grade-match", str(tmp_path / "sh020.png"), "-r", str(tmp_path / "ref.png")]
    )
    assert res.exit_code == 0, res.output
    (cdl,) = read_cdl_file(tmp_path / "sh020.cc")
    assert cdl.id == "sh020" and cdl.slope[0] < 1.0 < cdl.slope[2]
