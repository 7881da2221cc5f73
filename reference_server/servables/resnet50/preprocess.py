"""Host-side image preprocessing, as torchvision's ImageNet evaluation transform does it.

Resize(256) -> CenterCrop(224) -> ToTensor -> Normalize(mean, std) on a PIL image, except that
the result is NHWC (224, 224, 3) float32, the layout the model computes in.

An image is refused (``ImageRejected``, one line) when it is not bytes, cannot be decoded, or
would decode to more pixels than ``MAX_PIXELS``; the pixel check reads only the header, so a
decompression bomb is refused before anything is allocated for it.

Memory (issue 9, defect 5): a few KB of lossless WebP can declare the whole cap, and decoding
costs up to about 15 bytes per pixel. So the cap is 16.7 Mpx (4096x4096), at most
``MAX_CONCURRENT_DECODES`` images are decoded at once (other calls wait their turn), and a large
JPEG is decoded at a reduced scale (libjpeg's DCT scaling, 1/2 to 1/8, keeping at least twice the
resize target) so that camera photos up to ``MAX_JPEG_PIXELS`` still classify. Worst case, eight
concurrent images at the cap peak well under 1.5 GB (bench/bench_decode.py).
"""

from __future__ import annotations

import io
import threading
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

RESIZE = 256
CROP = 224
MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
# The most pixels an image may decode to: 4096x4096, far more than a 224x224 classifier needs.
MAX_PIXELS = 4096 * 4096
# A JPEG may declare up to 50 megapixels (e.g. 8660x5773, any camera photo), since it is decoded
# at a reduced scale; still below Pillow's own warning threshold (MAX_IMAGE_PIXELS, 89.5 Mpx), so
# every image Pillow would warn about is refused here as well.
MAX_JPEG_PIXELS = 50_000_000
# Images decoded at once, process-wide: bounds the decode buffers of concurrent calls.
MAX_CONCURRENT_DECODES = 2
# A JPEG is scaled down while decoding only to at least this many times the resize target, so
# that the bilinear resize after it still has pixels to average.
DRAFT_GAP = 2
# Decoders tried: the common photo formats only, which keeps Pillow's rarer (and historically
# buggier) decoders away from untrusted bytes.
FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP")
FORMAT_NAMES = "JPEG, PNG, WebP, GIF or BMP"


class ImageRejected(ValueError):
    """The input is not an image this servable can classify; the text says why."""


def _decodable(data: Any) -> Image.Image:
    """The opened (not yet decoded) image, after the pixel-count check."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise ImageRejected(f"image must be bytes (MS_BYTES), got {type(data).__name__}")
    if len(data) == 0:
        raise ImageRejected("cannot decode image: empty input")
    try:
        image = Image.open(io.BytesIO(data), formats=FORMATS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        # Pillow refuses (or, with warnings as errors, warns about) a huge header itself.
        raise ImageRejected(f"image too large: {_one_line(exc)}") from exc
    except UnidentifiedImageError as exc:
        raise ImageRejected(f"cannot decode image: not a {FORMAT_NAMES} image") from exc
    except (OSError, ValueError, SyntaxError) as exc:
        raise ImageRejected(f"cannot decode image: {_one_line(exc)}") from exc
    width, height = image.size
    if width == 0 or height == 0:
        raise ImageRejected(f"cannot decode image: it has no pixels ({width}x{height})")
    jpeg = image.format == "JPEG"
    cap = MAX_JPEG_PIXELS if jpeg else MAX_PIXELS
    if Image.MAX_IMAGE_PIXELS is not None:
        cap = min(cap, int(Image.MAX_IMAGE_PIXELS))
    if width * height > cap:
        raise ImageRejected(
            f"image too large: {width}x{height} is {width * height} pixels, the limit is {cap}"
        )
    if jpeg:
        _draft(image)
    return image


def _draft(image: Image.Image) -> None:
    """Have a JPEG decoded at the smallest DCT scale that keeps DRAFT_GAP x the resize target."""
    width, height = image.size
    target = resized_size(width, height)
    try:
        image.draft(image.mode, (target[0] * DRAFT_GAP, target[1] * DRAFT_GAP))
    except (OSError, ValueError) as exc:
        raise ImageRejected(f"cannot decode image: {_one_line(exc)}") from exc
    if image.size[0] * image.size[1] > MAX_PIXELS:  # a long thin panorama scales little
        raise ImageRejected(
            f"image too large: {width}x{height} decodes to {image.size[0]}x{image.size[1]}, "
            f"over {MAX_PIXELS} pixels"
        )


def resized_size(width: int, height: int, short: int = RESIZE) -> tuple[int, int]:
    """torchvision's Resize(int): the shorter side becomes ``short``, the longer one scales and
    is truncated to an integer."""
    if width <= height:
        return short, int(short * height / width)
    return int(short * width / height), short


def center_box(width: int, height: int, crop: int = CROP) -> tuple[int, int, int, int]:
    """torchvision's CenterCrop box (left, top, right, bottom); offsets rounded half to even, as
    Python's round() does there."""
    left = round((width - crop) / 2.0)
    top = round((height - crop) / 2.0)
    return left, top, left + crop, top + crop


def decode_rgb(data: Any) -> Image.Image:
    """The image as an RGB PIL image, fully decoded; ImageRejected if it cannot be."""
    image = _decodable(data)
    try:
        image.load()
        return image if image.mode == "RGB" else image.convert("RGB")
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        raise ImageRejected(f"cannot decode image: {_one_line(exc)}") from exc


def normalize(rgb: np.ndarray) -> np.ndarray:
    """uint8 HWC RGB -> float32 HWC: x / 255, then (x - mean) / std per channel."""
    scaled = rgb.astype(np.float32) / np.float32(255.0)
    scaled -= MEAN
    scaled /= STD
    return scaled


_DECODES = threading.BoundedSemaphore(MAX_CONCURRENT_DECODES)


def preprocess(data: Any) -> np.ndarray:
    """Encoded image bytes -> the model's (224, 224, 3) float32 input."""
    with _DECODES:  # the full-size image lives only inside _resized
        resized = _resized(data)
    cropped = resized.crop(center_box(*resized.size))
    return normalize(np.asarray(cropped, dtype=np.uint8))


def _resized(data: Any) -> Image.Image:
    image = decode_rgb(data)
    return image.resize(resized_size(*image.size), Image.Resampling.BILINEAR)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


__all__ = [
    "CROP",
    "DRAFT_GAP",
    "FORMATS",
    "FORMAT_NAMES",
    "MAX_CONCURRENT_DECODES",
    "MAX_JPEG_PIXELS",
    "MAX_PIXELS",
    "MEAN",
    "RESIZE",
    "STD",
    "ImageRejected",
    "center_box",
    "decode_rgb",
    "normalize",
    "preprocess",
    "resized_size",
]
