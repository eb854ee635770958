"""Engine compositing: alpha over, opacity, fades, dissolves with alpha, blended retimes, clip_filter."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import av
import numpy as np
import numpy.typing as npt
import opentimelineio as otio
import pytest
from PIL import Image

from posthouse.core.errors import UsageError
from posthouse.engine import iter_timeline_frames
from posthouse.engine.plan import VideoClipPlan

W, H = 64, 36
RATE = 24
GREY = 128
SQ = (slice(10, 26), slice(20, 44))  # the square's rows, columns


def rt(v: float) -> otio.opentime.RationalTime:
    return otio.opentime.RationalTime(v, RATE)


def tr(start: float, dur: float) -> otio.opentime.TimeRange:
    return otio.opentime.TimeRange(rt(start), rt(dur))


def png(path: Path, pixels: npt.NDArray[np.uint8]) -> Path:
    Image.fromarray(pixels, "RGBA" if pixels.shape[2] == 4 else "RGB").save(path)
    return path


def still(path: Path, frames: int, name: str = "", **meta: Any) -> otio.schema.Clip:
    clip = otio.schema.Clip(
        name=name or path.stem,
        media_reference=otio.schema.ExternalReference(target_url=path.as_uri()),
        source_range=tr(0, frames),
    )
    if meta:
        clip.metadata["posthouse"] = meta
    return clip


def timeline(*tracks: list[otio.core.Item]) -> otio.schema.Timeline:
    tl = otio.schema.Timeline(name="comp", global_start_time=rt(86400))
    for items in tracks:
        track = otio.schema.Track(kind=otio.schema.TrackKind.Video)
        for item in items:
            track.append(item)
        tl.tracks.append(track)
    return tl


def frames(tl: otio.schema.Timeline, **kw: Any) -> list[npt.NDArray[np.uint8]]:
    return [f.copy() for f in iter_timeline_frames(tl, size=(W, H), **kw)]


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("comp")
    grey = np.full((H, W, 3), GREY, np.uint8)
    square = np.zeros((H, W, 4), np.uint8)
    square[SQ] = (255, 0, 0, 128)
    red = np.zeros((H, W, 3), np.uint8)
    red[...] = (255, 0, 0)
    blue = np.zeros((H, W, 3), np.uint8)
    blue[...] = (0, 0, 255)
    seq = root / "ramp"
    seq.mkdir()
    for i in range(8):
        png(seq / f"ramp.{i:04d}.png", np.full((H, W, 3), 10 * i, np.uint8))
    return {
        "grey": png(root / "grey.png", grey),
        "light": png(root / "light.png", np.full((H, W, 3), 200, np.uint8)),
        "square": png(root / "square.png", square),
        "red": png(root / "red.png", red),
        "blue": png(root / "blue.png", blue),
        "seq": seq,
    }


def test_half_transparent_square_over_grey(media: dict[str, Path]) -> None:
    tl = timeline([still(media["grey"], 4)], [still(media["square"], 4)])
    out = frames(tl)
    assert len(out) == 4
    a = 128 / 255
    inside = out[2][18, 32].astype(int)
    assert np.abs(inside - [255 * a + GREY * (1 - a), GREY * (1 - a), GREY * (1 - a)]).max() <= 1
    assert np.abs(out[2][2, 2].astype(int) - GREY).max() <= 0  # transparent: the grey below shows
    assert np.abs(out[2][SQ].astype(int) - inside).max() <= 1  # the whole square


def test_default_size_from_an_image(media: dict[str, Path]) -> None:
    first = next(iter_timeline_frames(timeline([still(media["grey"], 1)])))
    assert first.shape == (H, W, 3)


def test_premultiplied_override(media: dict[str, Path]) -> None:
    tl = timeline([still(media["grey"], 2)], [still(media["square"], 2, alpha="premultiplied")])
    # stored colour taken as premultiplied: 255 + 128·(1 - a) clips at 255
    px = frames(tl)[0][18, 32].astype(int)
    assert px[0] == 255 and abs(px[1] - round(GREY * (1 - 128 / 255))) <= 1


def test_exr_is_premultiplied(media: dict[str, Path], tmp_path: Path) -> None:
    import OpenImageIO as oiio

    pixels = np.zeros((H, W, 4), np.float32)
    pixels[SQ] = (0.5, 0.0, 0.0, 0.5)  # red at half coverage, premultiplied
    buf = oiio.ImageBuf(oiio.ImageSpec(W, H, 4, oiio.HALF))
    buf.set_pixels(oiio.ROI(), pixels)
    assert buf.write(str(tmp_path / "sq.exr"))
    out = frames(timeline([still(media["grey"], 2)], [still(tmp_path / "sq.exr", 2)]))
    assert np.abs(out[0][18, 32].astype(int) - (128 + 64, 64, 64)).max() <= 1
    assert (out[0][2, 2] == GREY).all()


def test_opacity(media: dict[str, Path]) -> None:
    tl = timeline([still(media["grey"], 3)], [still(media["red"], 3, opacity=0.25)])
    px = frames(tl)[1][5, 5].astype(int)
    assert np.abs(px - [0.25 * 255 + 0.75 * GREY, 0.75 * GREY, 0.75 * GREY]).max() <= 1


def test_opaque_top_hides_below(media: dict[str, Path]) -> None:
    tl = timeline([still(media["grey"], 2)], [still(media["red"], 2)])
    assert (frames(tl)[0] == (255, 0, 0)).all()


def test_fade_from_and_to_black(media: dict[str, Path]) -> None:
    n = 4
    tl = timeline([still(media["light"], 12, fade_in_frames=n, fade_out_frames=n)])
    levels = [float(f.mean()) for f in frames(tl)]
    for k in range(n):
        assert abs(levels[k] - 200 * k / n) <= 0.6, (k, levels[k])
        assert abs(levels[11 - k] - 200 * k / n) <= 0.6
    assert levels[n : 12 - n] == [200.0] * (12 - 2 * n)


def test_fade_on_alpha_layer_keeps_its_shape(media: dict[str, Path]) -> None:
    tl = timeline([still(media["grey"], 4)], [still(media["square"], 4, fade_in_frames=4)])
    out = frames(tl)
    assert (out[0][18, 32] == np.rint(GREY * (1 - 128 / 255))).all()  # black at alpha 0.5 over grey
    assert (out[0][2, 2] == GREY).all()


def test_dissolve_from_alpha_layer_to_opaque(media: dict[str, Path]) -> None:
    v2 = otio.schema.Track(kind=otio.schema.TrackKind.Video)
    v2.append(still(media["square"], 6))
    v2.append(otio.schema.Transition(in_offset=rt(2), out_offset=rt(2)))
    v2.append(still(media["blue"], 6))
    tl = timeline([still(media["grey"], 12)])
    tl.tracks.append(v2)
    out = frames(tl)
    for record in range(4, 8):  # the dissolve spans record frames 4..7
        t = (record - 4 + 0.5) / 4
        expect = np.array([GREY * (1 - t), GREY * (1 - t), 255 * t + GREY * (1 - t)])
        assert np.abs(out[record][2, 2].astype(float) - expect).max() <= 1.0, record
    assert (out[9][2, 2] == (0, 0, 255)).all()
    assert (out[1][2, 2] == GREY).all()


def _sequence_clip(seq: Path, frames: int, speed: float, **meta: Any) -> otio.schema.Clip:
    ref = otio.schema.ImageSequenceReference(
        target_url_base=seq.as_uri() + "/",
        name_prefix="ramp.",
        name_suffix=".png",
        start_frame=0,
        frame_zero_padding=4,
        rate=RATE,
        available_range=tr(0, 8),
    )
    clip = otio.schema.Clip(name="ramp", media_reference=ref, source_range=tr(0, frames))
    clip.effects.append(otio.schema.LinearTimeWarp(time_scalar=speed))
    if meta:
        clip.metadata["posthouse"] = meta
    return clip


def test_image_sequence_plays_each_image(media: dict[str, Path]) -> None:
    levels = [int(f[0, 0, 0]) for f in frames(timeline([_sequence_clip(media["seq"], 8, 1.0)]))]
    assert levels == [10 * i for i in range(8)]


def test_half_speed_blends_in_between_frames(media: dict[str, Path]) -> None:
    levels = [int(f[5, 5, 0]) for f in frames(timeline([_sequence_clip(media["seq"], 12, 0.5)]))]
    assert levels == [5 * k for k in range(12)]  # frame 2k+1 is the average of images k and k+1
    nearest = timeline([_sequence_clip(media["seq"], 12, 0.5, retime="nearest")])
    assert [int(f[5, 5, 0]) for f in frames(nearest)] == [10 * (k // 2) for k in range(12)]


def test_quarter_speed_weights(media: dict[str, Path]) -> None:
    levels = [int(f[5, 5, 0]) for f in frames(timeline([_sequence_clip(media["seq"], 8, 0.25)]))]
    assert levels == [0, 2, 5, 8, 10, 12, 15, 18]  # 10·k/4, rounded half to even


def test_clip_filter_called_and_applied(media: dict[str, Path]) -> None:
    calls: list[tuple[str, int, tuple[int, ...], str]] = []

    def invert(clip: VideoClipPlan, record: int, rgb: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
        calls.append((clip.name, record, rgb.shape, str(rgb.dtype)))
        return 255 - rgb

    tl = timeline([still(media["grey"], 2, name="g"), still(media["light"], 2, name="l")])
    out = frames(tl, clip_filter=invert)
    assert [f[0, 0, 0] for f in out] == [255 - GREY, 255 - GREY, 55, 55]
    assert calls == [("g", 0, (H, W, 3), "uint8"), ("g", 1, (H, W, 3), "uint8")] + [
        ("l", r, (H, W, 3), "uint8") for r in (2, 3)
    ]


def test_clip_filter_runs_before_fades(media: dict[str, Path]) -> None:
    tl = timeline([still(media["light"], 4, fade_in_frames=4)])
    out = frames(tl, clip_filter=lambda c, r, rgb: np.full_like(rgb, 100))
    assert [int(f[0, 0, 0]) for f in out] == [0, 25, 50, 75]


def test_clip_filter_wrong_shape_is_a_usage_error(media: dict[str, Path]) -> None:
    tl = timeline([still(media["grey"], 2)])
    with pytest.raises(UsageError, match="clip_filter"):
        frames(tl, clip_filter=lambda c, r, rgb: rgb[::2])


def test_prores_4444_alpha_over(media: dict[str, Path], tmp_path: Path) -> None:
    path = tmp_path / "alpha.mov"
    rgba = np.zeros((H, W, 4), np.uint8)
    rgba[SQ] = (255, 0, 0, 255)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("prores_ks", rate=RATE)
        stream.width, stream.height, stream.pix_fmt = W, H, "yuva444p10le"
        stream.options = {"profile": "4444", "alpha_bits": "16"}
        for _ in range(3):
            frame = av.VideoFrame.from_ndarray(rgba, format="rgba").reformat(
                format="yuva444p10le", dst_colorspace="ITU709", dst_color_range="MPEG"
            )
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    clip = otio.schema.Clip(
        name="alpha",
        media_reference=otio.schema.ExternalReference(target_url=path.as_uri(), available_range=tr(0, 3)),
        source_range=tr(0, 3),
    )
    out_frames = frames(timeline([still(media["grey"], 3)], [clip]))
    assert np.abs(out_frames[1][18, 32].astype(int) - (255, 0, 0)).max() <= 4
    assert np.abs(out_frames[1][2, 2].astype(int) - GREY).max() <= 1
