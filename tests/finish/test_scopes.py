"""Scopes: waveform, parade, vectorscope and histogram images, saved as PNG."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
from PIL import Image

from posthouse.finish.scopes import (
    BAR_TARGETS,
    histogram,
    vectorscope,
    vectorscope_position,
    waveform,
    write_scopes,
)


def _bars75(h: int = 60, w: int = 140) -> np.ndarray:
    cols = [(0.75, 0.75, 0.75), *(tuple(0.75 * c for c in v) for v in BAR_TARGETS.values())]
    img = np.zeros((h, w, 3), np.uint8)
    edges = np.linspace(0, w, len(cols) + 1).astype(int)
    for (a, b), c in zip(itertools.pairwise(edges), cols, strict=True):
        img[:, a:b] = np.rint(np.array(c) * 255).astype(np.uint8)
    return img


def test_flat_grey_gives_one_waveform_line_at_its_level() -> None:
    grey = np.full((40, 64, 3), 128, np.uint8)
    wf = waveform(grey, width=64, height=256, graticule=False)
    assert wf.shape == (256, 64, 3)
    lit_rows = np.flatnonzero(wf.max(axis=(1, 2)) > 0)
    assert lit_rows.tolist() == [255 - 128]  # code 128 of 255 → row 127 from the bottom
    assert (wf[255 - 128] > 0).all()  # every column
    with_grid = waveform(grey, width=64, height=256)
    assert (with_grid[0] > 0).all() and (with_grid[255] > 0).all()  # 100 % and 0 % lines


def test_parade_splits_channels() -> None:
    img = np.zeros((20, 30, 3), np.uint8)
    img[..., 0] = 255  # pure red
    par = waveform(img, mode="parade", width=300, height=100, graticule=False)
    thirds = np.split(par, 3, axis=1)
    assert np.flatnonzero(thirds[0].max(axis=(1, 2)))[0] == 0  # red at the top
    assert np.flatnonzero(thirds[1].max(axis=(1, 2))).tolist() == [99]  # green at the bottom
    assert thirds[0][0, :, 0].min() > thirds[0][0, :, 1].max()  # drawn in red


def test_75_percent_bars_land_on_the_vectorscope_targets() -> None:
    size = 256
    vs = vectorscope(_bars75(), size=size, graticule=False)
    assert vs.shape == (size, size, 3)
    lit = np.argwhere(vs[..., 0] > 0)
    assert len(lit) == 7  # six colours + grey in the centre
    for colour in BAR_TARGETS.values():
        x, y = vectorscope_position(tuple(0.75 * c for c in colour), size)  # type: ignore[arg-type]
        near = np.abs(lit - [y, x]).max(axis=1).min()
        assert near <= 1, colour
    cx, cy = vectorscope_position((0.5, 0.5, 0.5), size)
    assert vs[cy, cx, 0] > 0
    # red is at the classic place: Cr up, Cb left of centre
    rx, ry = vectorscope_position((0.75, 0, 0), size)
    assert ry < size // 2 and rx < size // 2


def test_histogram_columns_follow_code_values() -> None:
    img = np.zeros((10, 10, 3), np.uint8)
    img[..., 0] = 200
    img[:5, :, 1] = 50
    img[5:, :, 1] = 100
    hist = histogram(img, height=100)
    assert hist.shape == (100, 256, 3)
    filled = hist.max(axis=0)  # per column, per colour
    assert filled[200, 0] > 0 and filled[:200, 0].max() == 0
    assert filled[50, 1] > 0 and filled[100, 1] > 0
    # the red bin holds twice the pixels of each green bin: twice as tall
    h_red = (hist[:, 200, 0] > 0).sum()
    h_green = (hist[:, 50, 1] > 0).sum()
    assert h_red == 100 and h_green == 50


def test_write_scopes_makes_readable_pngs(tmp_path: Path) -> None:
    paths = write_scopes(_bars75(), tmp_path / "scopes", stem="f0100")
    assert set(paths) == {"waveform", "parade", "vectorscope", "histogram"}
    for p in paths.values():
        with Image.open(p) as im:
            assert im.format == "PNG" and im.mode == "RGB"
            assert im.size[0] >= 256
    assert not list((tmp_path / "scopes").glob(".*partial*"))


def test_cli_scopes_on_a_still(tmp_path: Path) -> None:
    import typer
    from typer.testing import CliRunner

    from posthouse.cli.finish_grade import scopes

    app = typer.Typer()
    app.command("scopes")(scopes)
    app.command("noop")(lambda: None)
    still = tmp_path / "bars.png"
    Image.fromarray(_bars75()).save(still)
    res = CliRunner().invoke(app, ["scopes", str(still), "--out", str(tmp_path / "s"), "--json"])
    assert res.exit_code == 0, res.output
    assert len(list((tmp_path / "s").glob("bars_f000000_*.png"))) == 4
    missing = CliRunner().invoke(app, ["scopes", str(tmp_path / "nope.mov")])
    assert missing.exit_code == 2 and "nope.mov" in missing.output
