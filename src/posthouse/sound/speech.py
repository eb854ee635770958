"""Speech activity for dialogue gating: where the dialogue stem holds speech, in 10 ms steps.

The detector watches the speech band (200 Hz – 4 kHz) of the dialogue stem, streaming: per 10 ms, the
band energy. At the end the noise floor is the 10th percentile of those energies; speech is energy more
than ``margin_db`` above the floor (and above an absolute -60 dBFS), held for at least 50 ms and bridged
over pauses of up to 300 ms between words — the way a dialogue-gated meter treats running speech.
Running on the dialogue stem rather than the full mix is what lets loud music or effects not count.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy import ndimage, signal

__all__ = ["SpeechDetector"]

_STEP_PER_S = 100


class SpeechDetector:
    """Push ``(channels, n)`` blocks of the dialogue stem, then ask :meth:`activity`."""

    def __init__(self, sample_rate: int, *, margin_db: float = 12.0, floor_dbfs: float = -60.0) -> None:
        self.sample_rate = sample_rate
        self.margin_db = margin_db
        self.floor_dbfs = floor_dbfs
        self._sos = signal.butter(4, (200.0, 4000.0), btype="bandpass", fs=sample_rate, output="sos")
        self._zi: npt.NDArray[np.float64] | None = None
        self._pos = 0
        self._partial = 0.0
        self._energy: list[npt.NDArray[np.float64]] = []

    def push(self, block: npt.ArrayLike) -> None:
        """Add samples (all channels are summed)."""
        x = np.asarray(block, dtype=np.float64)
        mono = x.sum(axis=0) if x.ndim == 2 else x
        if mono.size == 0:
            return
        if self._zi is None:
            self._zi = np.zeros((self._sos.shape[0], 2))
        y, self._zi = signal.sosfilt(self._sos, mono, zi=self._zi)
        cs = np.concatenate(([0.0], np.cumsum(y * y)))
        sr = self.sample_rate
        start, end = self._pos, self._pos + mono.size
        first = start * _STEP_PER_S // sr + 1
        last = end * _STEP_PER_S // sr
        ks = np.arange(first, last + 1)
        if ks.size:
            bounds = ks * sr // _STEP_PER_S - start
            vals = cs[bounds]
            sums = np.diff(np.concatenate(([-self._partial], vals)))
            self._energy.append(sums / (sr / _STEP_PER_S))
            self._partial = float(cs[-1] - vals[-1])
        else:
            self._partial += float(cs[-1])
        self._pos = end

    def activity(self) -> npt.NDArray[np.bool_]:
        """One flag per complete 10 ms step since the start: speech or not."""
        if not self._energy:
            return np.zeros(0, bool)
        e = np.concatenate(self._energy)
        db = 10.0 * np.log10(np.maximum(e, 1e-15))
        floor = float(np.percentile(db, 10.0))
        loud = (db > floor + self.margin_db) & (db > self.floor_dbfs)
        pad = 32  # so that closing does not erode at the ends
        loud = np.pad(loud, pad)
        loud = ndimage.binary_opening(loud, structure=np.ones(5, bool))  # at least 50 ms
        loud = ndimage.binary_closing(loud, structure=np.ones(31, bool))  # bridge pauses up to 300 ms
        return np.asarray(loud[pad:-pad], bool)
