"""Preprocessing against hand computations, and refusal of bad or oversized images."""

from __future__ import annotations

import io
import pathlib
import struct
import threading
import time
import warnings
import zlib

import numpy as np
import pytest
from PIL import Image

from reference_server.servables.resnet50 import preprocess as preprocess_module
from reference_server.servables.resnet50.preprocess import (
    MAX_PIXELS,
    ImageRejected,
    center_box,
    decode_rgb,
    preprocess,
    resized_size,
)

IMAGES = pathlib.Path(__file__).resolve().parent.parent / "examples" / "test_image"
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)


def encode(image: Image.Image, fmt: str = "PNG") -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt)
    return out.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose IHDR declares width x height, followed by a few bytes of junk pixel data:
    decoding it would fail with a decode error, so a size refusal proves nothing was decoded."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


def test_resize_and_crop_geometry_as_torchvision() -> None:
    # Shorter side to 256, longer truncated: 256 * 451 / 300 = 384.85 -> 384.
    assert resized_size(451, 300) == (384, 256)
    assert resized_size(300, 451) == (256, 384)
    assert resized_size(336, 224) == (384, 256)
    assert resized_size(256, 256) == (256, 256)
    # Crop offsets: (384 - 224) / 2 = 80, (256 - 224) / 2 = 16; 80.5 rounds half to even.
    assert center_box(384, 256) == (80, 16, 304, 240)
    assert center_box(385, 257) == (80, 16, 304, 240)
    assert center_box(387, 256) == (82, 16, 306, 240)


def test_preprocess_values_by_hand() -> None:
    # 320x256: the resize keeps the size, so the crop takes rows 16.. and columns 48..
    rows, cols = np.mgrid[0:256, 0:320]
    pixels = np.stack([rows % 256, cols % 256, (rows + 2 * cols) % 256], axis=-1).astype(np.uint8)
    got = preprocess(encode(Image.fromarray(pixels, "RGB")))
    assert got.shape == (224, 224, 3)
    assert got.dtype == np.float32
    for i, j in [(0, 0), (5, 200), (223, 223), (100, 17)]:
        for c in range(3):
            value = int(pixels[16 + i, 48 + j, c])
            assert got[i, j, c] == pytest.approx((value / 255 - MEAN[c]) / STD[c], abs=1e-5)


def test_resized_solid_colour_stays_that_colour() -> None:
    # Any resize of a constant image is that constant: checks the resize + normalise path.
    got = preprocess(encode(Image.new("RGB", (500, 300), (200, 100, 50)), "PNG"))
    want = [(v / 255 - m) / s for v, m, s in zip((200, 100, 50), MEAN, STD, strict=True)]
    assert got.shape == (224, 224, 3)
    np.testing.assert_allclose(got.reshape(-1, 3).min(0), want, atol=1e-5)
    np.testing.assert_allclose(got.reshape(-1, 3).max(0), want, atol=1e-5)


@pytest.mark.parametrize("mode", ["L", "RGBA", "P", "CMYK"])
def test_other_modes_become_rgb(mode: str) -> None:
    image = Image.new("RGB", (240, 240), (10, 130, 250)).convert(mode)
    fmt = "JPEG" if mode == "CMYK" else "PNG"
    got = preprocess(encode(image, fmt))
    assert got.shape == (224, 224, 3)
    if mode == "L":
        assert np.allclose(got[..., 0] * STD[0] + MEAN[0], got[..., 1] * STD[1] + MEAN[1])


def test_test_images_preprocess() -> None:
    files = sorted(IMAGES.iterdir())
    assert [f.name for f in files] == ["chelsea.jpg", "coffee.png"]
    for path in files:
        assert path.stat().st_size < 60_000
        got = preprocess(path.read_bytes())
        assert got.shape == (224, 224, 3) and np.isfinite(got).all()


def truncated_jpeg() -> bytes:
    return (IMAGES / "chelsea.jpg").read_bytes()[:3000]


@pytest.mark.parametrize(
    ("data", "text"),
    [
        (b"", "cannot decode image: empty input"),
        (b"\x00garbage" * 10, "cannot decode image: not a JPEG, PNG, WebP, GIF or BMP image"),
        (truncated_jpeg(), "cannot decode image: image file is truncated"),
        ("a string", "image must be bytes (MS_BYTES), got str"),
        (None, "image must be bytes (MS_BYTES), got NoneType"),
    ],
)
def test_bad_inputs_are_rejected_with_a_reason(data: object, text: str) -> None:
    with pytest.raises(ImageRejected) as info:
        preprocess(data)
    assert str(info.value).startswith(text)
    assert "\n" not in str(info.value)


def test_corrupt_pixel_data_is_a_decode_error() -> None:
    good = bytearray(encode(Image.new("RGB", (300, 300), (1, 2, 3))))
    start = good.index(b"IDAT") + 8
    good[start : start + 20] = b"\xff" * 20
    with pytest.raises(ImageRejected, match=r"^cannot decode image: "):
        preprocess(bytes(good))


# A refusal from the header alone takes milliseconds; allocating the pixels first (hundreds of
# MB, or far more) would take far longer. Generous, so that a busy machine does not fail it.
BEFORE_DECODING_S = 2.0


def timed_rejection(data: bytes) -> tuple[str, float]:
    start = time.perf_counter()
    with pytest.raises(ImageRejected) as info:
        preprocess(data)
    return str(info.value), time.perf_counter() - start


def test_bomb_over_our_cap_is_refused_before_decoding() -> None:
    # 60 Mpx: over MAX_PIXELS, under Pillow's own limits.
    text, seconds = timed_rejection(png_header_only(10_000, 6_000))
    assert text == (f"image too large: 10000x6000 is 60000000 pixels, the limit is {MAX_PIXELS}")
    assert seconds < BEFORE_DECODING_S


def test_bomb_pillow_warns_about_is_refused() -> None:
    # 108 Mpx: Pillow warns (DecompressionBombWarning); our cap refuses it either way.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        text, _ = timed_rejection(png_header_only(12_000, 9_000))
    assert text.startswith("image too large: 12000x9000 is 108000000 pixels")
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        text, _ = timed_rejection(png_header_only(12_000, 9_000))
    assert text.startswith("image too large: ")


def test_bomb_pillow_refuses_is_refused() -> None:
    # 10^10 pixels: Pillow's DecompressionBombError, reported as an instance error.
    text, seconds = timed_rejection(png_header_only(100_000, 100_000))
    assert text.startswith("image too large: ")
    assert "10000000000 pixels" in text
    assert seconds < BEFORE_DECODING_S


# -- image bombs under the cap (issue 9, defect 5) ---------------------------------------------


def test_the_cap_is_4096_squared_for_lossless_formats() -> None:
    # A few KB of lossless WebP decodes to ~15 bytes a pixel: 50 Mpx was 742 MB for one image.
    assert MAX_PIXELS == 4096 * 4096
    text, seconds = timed_rejection(png_header_only(4097, 4096))
    assert text == f"image too large: 4097x4096 is {4097 * 4096} pixels, the limit is {MAX_PIXELS}"
    assert seconds < BEFORE_DECODING_S


def test_a_large_jpeg_decodes_at_a_reduced_scale() -> None:
    photo = encode(Image.new("RGB", (6000, 4000), (10, 200, 30)), "JPEG")
    # DCT scaling by 1/4 keeps twice the resize target (384x256): 1500x1000, not 24 Mpx.
    assert decode_rgb(photo).size == (1500, 1000)
    got = preprocess(photo)
    assert got.shape == (224, 224, 3)
    expected = (np.array([10, 200, 30]) / 255 - np.array(MEAN)) / np.array(STD)
    np.testing.assert_allclose(got[112, 112], expected, atol=0.05)


def test_a_small_jpeg_is_decoded_whole() -> None:
    # Under twice the target nothing is scaled: the result is torchvision's, pixel for pixel.
    path = IMAGES / "chelsea.jpg"
    assert decode_rgb(path.read_bytes()).size == Image.open(path).size


def test_decodes_run_at_most_two_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    running = 0
    most = 0
    lock = threading.Lock()
    original = preprocess_module.decode_rgb

    def counted(data: object) -> Image.Image:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        try:
            time.sleep(0.05)
            return original(data)
        finally:
            with lock:
                running -= 1

    monkeypatch.setattr(preprocess_module, "decode_rgb", counted)
    image = encode(Image.new("RGB", (300, 300), (1, 2, 3)))
    threads = [threading.Thread(target=preprocess, args=(image,)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not any(thread.is_alive() for thread in threads)
    assert most == preprocess_module.MAX_CONCURRENT_DECODES == 2
