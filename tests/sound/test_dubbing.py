"""Dubbed versions: M&E + a dubbed dialogue stem → a localized printmaster that meets the spec."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyloudnorm
import soundfile as sf
from typer.testing import CliRunner

from posthouse.core.media.bwf import Bext, write_bwf
from posthouse.demo.speech import synth_line_timed, voice_for
from posthouse.sound.dubbing import dub_mix
from posthouse.sound.specs import load_spec

SR = 48_000
TREF = 172_972_800  # 01:00:00:00 at 23.976


def _files(tmp: Path, dx_offset: int = 0) -> tuple[Path, Path, np.ndarray]:
    rng = np.random.default_rng(2)
    n = 10 * SR
    t = np.arange(n) / SR
    me = np.zeros((6, n), np.float32)
    me[0] = me[1] = 0.03 * np.sin(2 * np.pi * 196 * t)  # music L/R
    me[4] = me[5] = 0.01 * rng.standard_normal(n)  # ambience in the surrounds
    dx = np.zeros(n, np.float32)
    mask = np.zeros(n, bool)
    for start, text in ((1.0, "Le son est encore en retard."), (5.0, "Alors on attend ici.")):
        line, words = synth_line_timed(text, voice_for("MAYA", female=True), SR, rng)
        a = int(start * SR)
        dx[a : a + line.size] = 0.25 * line / np.abs(line).max()
        mask[a + words[0].start : a + words[-1].end] = True
    me_p = write_bwf(tmp / "film_ME_51.wav", me, SR, bext=Bext(time_reference=TREF))
    dx_p = write_bwf(tmp / "film_DX_fr.wav", dx[np.newaxis], SR, bext=Bext(time_reference=TREF + dx_offset))
    return me_p, dx_p, mask


def _pyln(data: np.ndarray) -> float:
    if data.shape[1] == 6:
        data = data[:, [0, 1, 2, 4, 5]]
    return float(pyloudnorm.Meter(SR).integrated_loudness(data))


def test_localized_printmaster_meets_the_spec_and_carries_the_dub(tmp_path: Path) -> None:
    me, dx, mask = _files(tmp_path)
    spec = load_spec("netflix")
    report = dub_mix(me, dx, tmp_path / "fr", spec, language="fr", name="film")
    assert report.passed, report.to_dict()
    five, _ = sf.read(report.outputs["5.1"], always_2d=True)
    assert five.shape == (10 * SR, 6)
    assert abs(_pyln(five[mask]) - spec.target_lufs) <= 0.5  # dialogue-gated, over the dubbed lines
    dub = sf.read(dx)[0]
    centre = five[:, 2]
    corr = float(np.dot(centre, dub) / (np.linalg.norm(centre) * np.linalg.norm(dub)))
    assert corr > 0.99  # the dubbed dialogue is in the centre, nothing else is
    stereo, _ = sf.read(report.outputs["stereo"], always_2d=True)
    assert stereo.shape[1] == 2 and 20 * np.log10(np.abs(stereo).max()) <= spec.true_peak_dbtp


def test_dialogue_is_placed_by_its_time_reference(tmp_path: Path) -> None:
    me, dx, _ = _files(tmp_path, dx_offset=SR // 2)  # the dub starts half a second later
    report = dub_mix(me, dx, tmp_path / "de", load_spec("ebu-r128"), language="de", name="film")
    assert report.warnings and "+24000 samples" in report.warnings[0]
    five, _ = sf.read(report.outputs["5.1"], always_2d=True)
    dub = sf.read(dx)[0]
    centre = five[:, 2]
    spectrum = np.fft.rfft(centre, 2 * dub.size) * np.conj(np.fft.rfft(dub, 2 * dub.size))
    lag = int(np.argmax(np.fft.irfft(spectrum)))
    assert lag == SR // 2  # the dub sounds half a second later, to the sample


def test_dub_cli(tmp_path: Path) -> None:
    from posthouse.cli.app import app

    me, dx, _ = _files(tmp_path)
    res = CliRunner().invoke(
        app,
        [
            "dub",
            "--me",
            str(me),
            "--dialogue",
            str(dx),
            "--language",
            "fr",
            "--spec",
            "atsc-a85",
            "--out",
            str(tmp_path / "out"),
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["passed"] and Path(doc["outputs"]["5.1"]).name == "film_PM_51_fr.wav"
