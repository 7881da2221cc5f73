#!/usr/bin/env python3
"""What hostile requests cost the reference server's request path (issue 9, defects 3-5).

    python bench/bench_decode.py [--dims 1000 4000 16000 64000 256000 1000000]
                                 [--images 8] [--side N] [--formats WEBP PNG]

1. **Decode cost against the number of dims.** For each dims count, a serialized request for
   ``add.add_common`` whose x1 has that many dims is parsed and checked as the server does
   (``ParseFromString`` + ``checks.check_request``); prints the time per call, the time per dim
   and, last, the ratio of the largest request's cost per byte to the smallest's (1 = linear; the
   quadratic decode of before made 30,000 dims cost 7.5 s).
2. **Peak RSS for concurrent worst-case images.** Images at the pixel cap that compress to a
   few KB (one colour, lossless WebP and PNG) are written to a temporary folder; a fresh process
   then preprocesses ``--images`` of them at once, one thread each, and reports its RSS before
   and its peak (``ru_maxrss``). The bound to hold: peak under 1.5 GB.

A benchmark, not a test: figures go to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import io
import json
import pathlib
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence

ROOT = pathlib.Path(__file__).resolve().parent.parent


def dims_request(count: int) -> bytes:
    from protos import ms_service_pb2 as pb

    request = pb.PredictRequest()
    request.servable_spec.name = "add"
    request.servable_spec.method_name = "add_common"
    instance = request.instances.add()
    x1 = instance.items["x1"]
    x1.dtype = pb.MS_FLOAT32
    x1.shape.dims.extend([2] * count)
    x1.data = b"\0" * 16
    x2 = instance.items["x2"]
    x2.dtype = pb.MS_FLOAT32
    x2.shape.dims.extend([2, 2])
    x2.data = b"\0" * 16
    return request.SerializeToString()


def bench_dims(counts: Sequence[int]) -> None:
    from protos import ms_service_pb2 as pb
    from reference_server import checks
    from reference_server.servables import kit_registry

    registry = kit_registry()
    print("decode cost by number of dims (parse + checks):")
    per_byte: list[float] = []
    for count in counts:
        body = dims_request(count)
        rounds = max(1, 200_000 // count)
        start = time.perf_counter()
        for _ in range(rounds):
            request = pb.PredictRequest()
            request.ParseFromString(body)
            result = checks.check_request(request, registry)
        seconds = (time.perf_counter() - start) / rounds
        assert isinstance(result, checks.RequestError)
        per_byte.append(seconds / len(body))
        print(
            f"  {count:>9} dims  {len(body) / 1024:>8.0f} KB  {seconds * 1e3:>9.3f} ms/call  "
            f"{seconds / count * 1e9:>6.1f} ns/dim"
        )
    print(f"  cost per byte, largest / smallest request: {per_byte[-1] / per_byte[0]:.2f}")


def write_images(folder: pathlib.Path, side: int, formats: Sequence[str]) -> list[pathlib.Path]:
    from PIL import Image

    image = Image.new("RGB", (side, side), (200, 30, 90))
    paths = []
    for fmt in formats:
        out = io.BytesIO()
        options = {"lossless": True} if fmt == "WEBP" else {"optimize": True}
        image.save(out, format=fmt, **options)
        path = folder / f"bomb.{fmt.lower()}"
        path.write_bytes(out.getvalue())
        paths.append(path)
    return paths


CHILD = r"""
import json, resource, sys, threading, pathlib
from reference_server.servables.resnet50.preprocess import ImageRejected, preprocess

def rss_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0

data = pathlib.Path(sys.argv[1]).read_bytes()
count = int(sys.argv[2])
before = rss_mb()
outcomes = []
def one():
    try:
        outcomes.append(preprocess(data).shape)
    except ImageRejected as exc:
        outcomes.append(str(exc))
threads = [threading.Thread(target=one) for _ in range(count)]
for t in threads: t.start()
for t in threads: t.join(600)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"before_mb": before, "peak_mb": peak, "after_mb": rss_mb(),
                  "outcome": str(outcomes[0])}))
"""


def bench_images(count: int, side: int | None, formats: Sequence[str]) -> None:
    from reference_server.servables.resnet50 import preprocess

    if side is None:
        side = int(preprocess.MAX_PIXELS**0.5)
    print(f"peak RSS, {count} concurrent {side}x{side} images (cap {preprocess.MAX_PIXELS} px):")
    with tempfile.TemporaryDirectory() as folder:
        for path in write_images(pathlib.Path(folder), side, formats):
            start = time.perf_counter()
            out = subprocess.run(
                [sys.executable, "-c", CHILD, str(path), str(count)],
                capture_output=True,
                text=True,
                timeout=900,
                cwd=ROOT,
                check=True,
            )
            figures = json.loads(out.stdout)
            print(
                f"  {path.suffix[1:]:>5} {path.stat().st_size / 1024:>6.1f} KB: RSS before "
                f"{figures['before_mb']:.0f} MB, peak {figures['peak_mb']:.0f} MB, after "
                f"{figures['after_mb']:.0f} MB, {time.perf_counter() - start:.1f} s "
                f"({figures['outcome']})"
            )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dims", type=int, nargs="+", default=[1000, 4000, 16000, 64000, 256000])
    parser.add_argument("--images", type=int, default=8, help="concurrent images")
    parser.add_argument("--side", type=int, help="image side (default: the pixel cap's)")
    parser.add_argument("--formats", nargs="+", default=["WEBP", "PNG"])
    parser.add_argument("--skip-images", action="store_true")
    args = parser.parse_args(argv)
    bench_dims(args.dims)
    if not args.skip_images:
        bench_images(args.images, args.side, args.formats)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
