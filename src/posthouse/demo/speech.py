"""Speech-like dialogue by formant synthesis, for the demo shoot's production sound.

Not intelligible speech, but speech-shaped: syllables come from the spelling of the line (vowel groups →
/a e i o u/ formant targets, consonants → bursts, fricatives, nasals, glides), voiced by a glottal pulse
train with intonation, jitter and shimmer, and shaped by a cascade of four formant resonators whose
frequencies glide between targets (coarticulation). The result has speech's long-term spectrum (energy
between 100 Hz and 4 kHz), its 3–8 Hz syllabic envelope and its pauses, so that dialogue cleanup,
sync by waveform correlation and forced alignment behave as they would on real dialogue.
"""

from __future__ import annotations

import functools
import itertools
import re
import zlib
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import signal

__all__ = ["Voice", "WordTiming", "synth_line", "synth_line_timed", "voice_for"]


@dataclass(frozen=True, slots=True)
class Voice:
    """A speaker: mean pitch ``f0`` in Hz and a formant scale (1.0 an adult male, ~1.17 an adult female)."""

    name: str
    f0: float
    formant_scale: float


@dataclass(frozen=True, slots=True)
class WordTiming:
    """Where a word of the line was spoken: samples ``[start, end)`` of the synthesised audio."""

    word: str
    start: int
    end: int


def voice_for(character: str, *, female: bool | None = None) -> Voice:
    """The voice of ``character``, deterministic in the name (case and outer spaces ignored).

    Male voices have f0 95–134 Hz and formant scale 0.96–1.03; female ones 175–234 Hz and 1.12–1.19.
    The sex comes from the name's CRC-32 (an arbitrary but stable pick) unless ``female`` says it.
    """
    h = zlib.crc32(character.strip().lower().encode("utf-8"))
    is_female = bool(h & 1) if female is None else female
    spread = (h >> 8) % 8 * 0.01
    if is_female:
        return Voice(character, 175.0 + (h >> 1) % 60, 1.12 + spread)
    return Voice(character, 95.0 + (h >> 1) % 40, 0.96 + spread)


# ------------------------------------------------------------------------------------------- phonetics

_F = tuple[float, float, float, float]
_VOWELS: dict[str, _F] = {  # adult male formant targets, Peterson & Barney style
    "a": (730.0, 1090.0, 2440.0, 3400.0),
    "e": (530.0, 1840.0, 2480.0, 3500.0),
    "i": (280.0, 2250.0, 2950.0, 3650.0),
    "o": (570.0, 840.0, 2410.0, 3400.0),
    "u": (310.0, 870.0, 2240.0, 3300.0),
    "@": (500.0, 1500.0, 2500.0, 3400.0),  # schwa, for vowelless words ("hmm", "shh")
}
_DIPHTHONGS: dict[str, tuple[str, str]] = {
    "ee": ("i", "i"), "ea": ("i", "i"), "ie": ("i", "i"), "ei": ("e", "i"), "ey": ("e", "i"),
    "oo": ("u", "u"), "ou": ("a", "u"), "oi": ("o", "i"), "oy": ("o", "i"), "ai": ("e", "i"),
    "ay": ("e", "i"), "au": ("o", "o"), "oa": ("o", "u"), "ue": ("i", "u"), "y": ("i", "i"),
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class _Phone:
    kind: str  # "vowel", "fric", "stop", "asp", "nasal", "approx"
    ms: float
    formants: _F | None = None  # target while voiced
    band: tuple[float, float] | None = None  # noise band of a fricative or a stop's burst
    level: float = 0.0  # noise RMS relative to a vowel's RMS
    voicing: float = 0.0  # voicing amplitude relative to a vowel's


_CONSONANTS: dict[str, _Phone] = {
    "s": _Phone("fric", 95, band=(3800, 9000), level=0.30),
    "z": _Phone("fric", 75, (250, 1600, 2600, 3400), (3800, 9000), 0.15, 0.30),
    "S": _Phone("fric", 105, band=(1800, 6000), level=0.30),  # sh
    "Z": _Phone("fric", 70, (250, 1800, 2500, 3400), (1800, 6000), 0.15, 0.30),  # the j of "jump"
    "f": _Phone("fric", 85, band=(1200, 8000), level=0.10),
    "v": _Phone("fric", 65, (250, 1200, 2400, 3300), (1200, 8000), 0.06, 0.35),
    "T": _Phone("fric", 80, band=(1500, 7000), level=0.08),  # th
    "h": _Phone("asp", 65, level=0.35),
    "p": _Phone("stop", 70, band=(400, 2000), level=0.50),
    "b": _Phone("stop", 55, (200, 900, 2200, 3300), (300, 1500), 0.25, 0.10),
    "t": _Phone("stop", 65, band=(3000, 7500), level=0.50),
    "d": _Phone("stop", 50, (200, 1600, 2600, 3300), (2500, 6000), 0.25, 0.10),
    "k": _Phone("stop", 70, band=(1500, 3500), level=0.50),
    "g": _Phone("stop", 55, (200, 1900, 2500, 3300), (1200, 3000), 0.25, 0.10),
    "m": _Phone("nasal", 70, (280, 1000, 2200, 3300), voicing=0.25),
    "n": _Phone("nasal", 65, (280, 1500, 2500, 3300), voicing=0.25),
    "N": _Phone("nasal", 70, (280, 2000, 2700, 3300), voicing=0.25),  # ng
    "l": _Phone("approx", 60, (360, 1300, 2700, 3300), voicing=0.4),
    "r": _Phone("approx", 60, (420, 1300, 1600, 3300), voicing=0.4),
    "w": _Phone("approx", 55, (300, 610, 2200, 3300), voicing=0.35),
    "j": _Phone("approx", 55, (280, 2200, 3000, 3500), voicing=0.35),  # the y of "yes"
}
_ASPIRATED = _Phone("asp", 30, level=0.2)
_DIGRAPHS = {
    "sh": "S",
    "ch": "tS",
    "th": "T",
    "ph": "f",
    "ng": "N",
    "ck": "k",
    "qu": "kw",
    "wh": "w",
    "gh": "",
}
_LETTERS = {"c": "k", "j": "dZ", "q": "k", "x": "ks", "y": "j"}
_DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_TOKEN = re.compile(r"[A-Za-z0-9']+|[.,!?;:]|\s-+\s")
_PAUSE_MS = {",": 200.0, ";": 220.0, ":": 220.0, "-": 200.0, ".": 350.0, "!": 350.0, "?": 350.0}

_Unit = tuple[str, str]  # ("V", vowel group) or ("C", phone symbol)


def _units(word: str) -> list[_Unit]:
    """Spelling → vowel groups and consonant phones, e.g. "check" → C t, C S, V e, C k."""
    w = word.lower().replace("'", "")
    out: list[_Unit] = []
    i = 0
    while i < len(w):
        ch = w[i]
        if ch in "aeiou" or (ch == "y" and i > 0):
            j = i + 1
            while j < len(w) and w[j] in "aeiouy":
                j += 1
            out.append(("V", w[i:j]))
            i = j
            continue
        if w[i : i + 2] in _DIGRAPHS:
            out.extend(("C", p) for p in _DIGRAPHS[w[i : i + 2]])
            i += 2
            continue
        if i + 1 < len(w) and w[i + 1] == ch:  # doubled letters sound once
            i += 1
        phones = "s" if ch == "c" and w[i + 1 : i + 2] in ("e", "i", "y") else _LETTERS.get(ch, ch)
        out.extend(("C", p) for p in phones if p in _CONSONANTS and out[-1:] != [("C", p)])  # "sc" in "scene"
        i += 1
    vowels = [k for k, u in enumerate(out) if u[0] == "V"]
    if len(vowels) >= 2 and out[-1] == ("V", "e") and len(w) > 3:  # silent final e: "take", "scene"
        out.pop()
    return out


def _syllables(units: list[_Unit]) -> list[tuple[list[str], str, list[str]]]:
    """Group units into (onset consonants, vowel group, coda consonants); medial clusters split VC.CV."""
    vowels = [k for k, u in enumerate(units) if u[0] == "V"]
    if not vowels:
        return [([u[1] for u in units[:1]], "@", [u[1] for u in units[1:]])]
    sylls: list[tuple[list[str], str, list[str]]] = []
    prev = -1
    for n, k in enumerate(vowels):
        cluster = [u[1] for u in units[prev + 1 : k]]
        if n > 0 and len(cluster) >= 2:
            sylls[-1][2].append(cluster.pop(0))
        sylls.append((cluster, units[k][1], []))
        prev = k
    sylls[-1][2].extend(u[1] for u in units[prev + 1 :])
    return sylls


def _vowel_targets(group: str) -> tuple[_F, _F]:
    if group in _DIPHTHONGS:
        a, b = _DIPHTHONGS[group]
    else:
        letters = group.replace("y", "i")
        a, b = letters[0], letters[-1]
    return _VOWELS[a], _VOWELS[b]


# ------------------------------------------------------------------------------------------- synthesis


@dataclass(slots=True)
class _Seg:
    start: int
    n: int
    phone: _Phone
    targets: tuple[_F, _F] | None  # formant start/end while voiced
    amp: float  # syllable loudness
    stressed: bool


@functools.lru_cache(maxsize=64)
def _band_sos(lo: float, hi: float, sample_rate: int) -> NDArray[np.float64]:
    hi = min(hi, 0.45 * sample_rate)
    sos: NDArray[np.float64] = signal.butter(4, [lo, hi], btype="bandpass", fs=sample_rate, output="sos")
    return sos


def _smooth(x: NDArray[np.float64], n: int) -> NDArray[np.float64]:
    """Moving average over about ``n`` samples (a Hann kernel), same length."""
    if n < 3:
        return x
    win = np.hanning(n)
    y: NDArray[np.float64] = signal.oaconvolve(x, win / win.sum(), mode="same")
    return y


def _plan(text: str, sample_rate: int, rng: np.random.Generator) -> tuple[list[_Seg], list[WordTiming], int]:
    """Lay out the line's phones in time; returns the segments, word timings and total length."""
    ms = sample_rate / 1000.0
    rate = rng.uniform(0.92, 1.08)
    text = re.sub(r"\d", lambda m: f" {_DIGITS[int(m.group())]} ", text)
    tokens = ["-" if "-" in t else t for t in _TOKEN.findall(text)]
    word_idx = [k for k, t in enumerate(tokens) if any(c.isalnum() for c in t)]
    segs: list[_Seg] = []
    words: list[WordTiming] = []
    pos = round(40 * ms)  # lead-in
    for wn, k in enumerate(word_idx):
        word = tokens[k].strip("'")
        nxt = tokens[k + 1] if k + 1 < len(tokens) else "."
        final = nxt in _PAUSE_MS or wn == len(word_idx) - 1
        sylls = _syllables(_units(word))
        w_start = pos
        for sn, (onset, vgroup, coda) in enumerate(sylls):
            stressed = sn == 0 and (len(sylls) > 1 or len(word) > 3)
            amp = (1.0 if stressed else 0.6) * rng.uniform(0.9, 1.1)
            last = sn == len(sylls) - 1
            seq: list[tuple[_Phone, tuple[_F, _F] | None]] = [(_CONSONANTS[c], None) for c in onset]
            targets = _vowel_targets(vgroup)
            v_ms = (110.0 if stressed else 65.0) + (30.0 if targets[0] != targets[1] else 0.0)
            v_ms *= (1.1 if last else 1.0) * (1.3 if last and final else 1.0)
            nv = len(seq)
            seq.append((_Phone("vowel", v_ms, voicing=1.0), targets))
            seq.extend((_CONSONANTS[c], None) for c in coda)
            for q, (phone, tg) in enumerate(seq):
                n = max(1, round(phone.ms * ms * rate * rng.uniform(0.85, 1.15) * (1.0 if q == nv else 0.8)))
                if tg is None and phone.formants is not None:
                    tg = (phone.formants, phone.formants)
                segs.append(_Seg(pos, n, phone, tg, amp, stressed))
                pos += n
                before_vowel = q + 1 < len(seq) and seq[q + 1][0].kind == "vowel"
                if phone.kind == "stop" and phone.voicing == 0.0 and before_vowel:
                    n = round(30 * ms * rate)  # an unvoiced stop before a vowel is aspirated
                    segs.append(_Seg(pos, n, _ASPIRATED, None, amp, stressed))
                    pos += n
        words.append(WordTiming(word, w_start, pos))
        pos += round((_PAUSE_MS[nxt] if nxt in _PAUSE_MS else rng.uniform(20.0, 60.0)) * ms * rate)
    return segs, words, pos + round(120 * ms)


def _f0_contour(
    segs: list[_Seg],
    words: list[WordTiming],
    text: str,
    voice: Voice,
    n: int,
    sr: int,
    rng: np.random.Generator,
) -> NDArray[np.float64]:
    """Pitch in Hz per sample: phrase declination, accents on stressed vowels, a question's rise, wander."""
    rel = np.ones(n)
    # Phrases end where a pause mark follows a word; each declines from 1.1 to 0.88 of the mean pitch.
    bounds = [0]
    gaps = [words[i + 1].start - words[i].end for i in range(len(words) - 1)]
    bounds += [words[i].end for i, g in enumerate(gaps) if g > 0.15 * sr]
    bounds.append(n)
    for a, b in itertools.pairwise(bounds):
        rel[a:b] = np.linspace(1.1, 0.88, b - a)
    if text.rstrip().endswith("?"):  # a question rises on its last word
        a = words[-1].start if words else 0
        rel[a:] *= np.linspace(1.0, 1.5, n - a)
    for s in segs:
        if s.phone.kind == "vowel" and s.stressed:
            rel[s.start : s.start + s.n] *= 1.0 + 0.12 * np.hanning(s.n)
    t = np.arange(n) / sr
    knots = np.arange(0.0, n / sr + 0.2, 0.2)
    wander = np.interp(t, knots, 1.0 + 0.03 * rng.standard_normal(len(knots)))
    jit = signal.lfilter([0.05], [1.0, -0.95], rng.standard_normal(n))
    jitter = 1.0 + 0.006 * jit / (np.std(jit) + 1e-12)
    f0: NDArray[np.float64] = voice.f0 * rel * wander * jitter
    return f0


def _cascade(
    x: NDArray[np.float64], formants: NDArray[np.float64], widths: NDArray[np.float64], block: int, sr: int
) -> NDArray[np.float64]:
    """Filter ``x`` through four Klatt resonators in cascade, their frequencies updated every block."""
    t = 1.0 / sr
    c = -np.exp(-2 * np.pi * widths * t)
    b = 2 * np.exp(-np.pi * widths * t) * np.cos(2 * np.pi * formants * t)
    a = 1.0 - b - c
    sos = np.zeros((*formants.shape, 6))
    sos[..., 0], sos[..., 3], sos[..., 4], sos[..., 5] = a, 1.0, -b, -c
    y = np.empty_like(x)
    zi = np.zeros((formants.shape[1], 2))
    for k in range(formants.shape[0]):  # one call per 5 ms block, not per sample
        sl = slice(k * block, (k + 1) * block)
        y[sl], zi = signal.sosfilt(sos[k], x[sl], zi=zi)
    return y


def synth_line_timed(
    text: str, voice: Voice, sample_rate: int, rng: np.random.Generator
) -> tuple[NDArray[np.float32], tuple[WordTiming, ...]]:
    """:func:`synth_line`, plus where each word of ``text`` falls in the audio (alignment ground truth)."""
    sr = int(sample_rate)
    segs, words, n = _plan(text, sr, rng)
    if not segs:
        return np.zeros(round(0.3 * sr), dtype=np.float32), ()

    # Envelopes (step targets smoothed into ramps) and formant anchors, one segment at a time.
    voicing, aspiration = np.zeros(n), np.zeros(n)
    anchors_t: list[float] = []
    anchors_f: list[_F] = []
    frication = np.zeros(n)
    for s in segs:
        sl = slice(s.start, s.start + s.n)
        p = s.phone
        if p.kind == "vowel":  # the nucleus swells and fades: the syllabic rhythm
            voicing[sl] = s.amp * (0.1 + 0.9 * np.sin(np.pi * (np.arange(s.n) + 0.5) / s.n) ** 0.8)
        else:
            voicing[sl] = p.voicing * s.amp
        if s.targets is not None:
            anchors_t += [s.start + 0.25 * s.n, s.start + 0.75 * s.n]
            anchors_f += list(s.targets)
        if p.kind == "asp":
            aspiration[sl] = p.level * s.amp
        elif p.band is not None:
            burst = p.kind == "stop"
            m = min(s.n, round(0.014 * sr)) if burst else s.n
            noise = signal.sosfilt(_band_sos(*p.band, sr), rng.standard_normal(m + 256))[256:]
            noise /= np.sqrt(np.mean(noise**2)) + 1e-12
            if burst:  # closure, then the release burst at its end
                env = np.exp(-np.arange(m) / (0.004 * sr))
                frication[s.start + s.n - m : s.start + s.n] += p.level * s.amp * noise * env
                voicing[sl] = p.voicing * s.amp
            else:
                frication[sl] += p.level * s.amp * noise * signal.windows.tukey(m, 0.5)
    voicing = _smooth(voicing, round(0.012 * sr))
    aspiration = _smooth(aspiration, round(0.008 * sr))

    # Glottal source: Rosenberg pulses on the pitch contour (derivative = flow through the lips).
    f0 = _f0_contour(segs, words, text, voice, n, sr, rng)
    phase = np.cumsum(f0 / sr)
    frac = phase - np.floor(phase)
    tp, tn = 0.42, 0.16
    flow = np.where(
        frac < tp,
        0.5 * (1.0 - np.cos(np.pi * frac / tp)),
        np.where(frac < tp + tn, np.cos(0.5 * np.pi * (frac - tp) / tn), 0.0),
    )
    pulses = np.diff(flow, prepend=flow[0]) * (sr / f0)
    shimmer = 1.0 + 0.05 * rng.standard_normal(int(phase[-1]) + 2)
    pulses *= shimmer[phase.astype(np.intp)]
    noise = rng.standard_normal(n)
    excitation = pulses * voicing + noise * (aspiration * 3.0 + 0.15 * voicing * flow)

    # Vocal tract: formant targets interpolated block by block (coarticulation), scaled to the voice.
    block = max(16, sr // 200)
    nb = -(-n // block)
    centers = (np.arange(nb) + 0.5) * block
    if not anchors_t:
        anchors_t, anchors_f = [0.0], [_VOWELS["@"]]
    fa = np.asarray(anchors_f)
    scale = np.array([1.0, 1.0, 1.0, 0.6]) * (voice.formant_scale - 1.0) + 1.0
    formants = np.stack([np.interp(centers, anchors_t, fa[:, k]) for k in range(4)], axis=1) * scale
    formants = np.minimum(formants, 0.45 * sr)
    widths = np.broadcast_to(np.array([70.0, 100.0, 160.0, 220.0]) * voice.formant_scale, formants.shape)
    padded = np.zeros(nb * block)
    padded[:n] = excitation
    voiced = _cascade(padded, formants, widths, block, sr)[:n]

    # Fricatives are scaled against the vowels' RMS, then everything is high-passed and normalised.
    vowel_rms = np.sqrt(np.mean(voiced[voicing > 0.5] ** 2)) if np.any(voicing > 0.5) else 1.0
    out = voiced + frication * vowel_rms
    out = signal.sosfilt(signal.butter(2, 70.0, btype="highpass", fs=sr, output="sos"), out)
    peak = float(np.max(np.abs(out)))
    if peak > 0:
        out *= 10 ** (-6.0 / 20.0) / peak
    return out.astype(np.float32), tuple(words)


def synth_line(text: str, voice: Voice, sample_rate: int, rng: np.random.Generator) -> NDArray[np.float32]:
    """Speech-like mono float32 audio of ``text`` spoken by ``voice``, peak-normalised to −6 dBFS.

    About 4–5 syllables a second with short pauses between words and longer ones at punctuation; a
    trailing ``?`` makes the pitch rise; digits are spoken one by one ("12" → "one two"). Deterministic
    for a given ``rng`` state. A line without any letters or digits gives 0.3 s of silence.
    """
    audio, _ = synth_line_timed(text, voice, sample_rate, rng)
    return audio
