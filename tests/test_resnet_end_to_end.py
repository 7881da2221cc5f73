"""resnet50 served by the reference server over TCP: raw stub, the example client, the CLI."""

from __future__ import annotations

import pathlib
import re
import subprocess
import sys

from support.rpc import errors, output, predict, request
from support.servers import run_cli

from protos import ms_service_pb2 as pb
from protos import ms_service_pb2_grpc
from reference_server import ReferenceServer
from reference_server.servables.resnet50.labels import imagenet_labels

ROOT = pathlib.Path(__file__).resolve().parent.parent
IMAGES = ROOT / "examples" / "test_image"
CHELSEA = (IMAGES / "chelsea.jpg").read_bytes()
COFFEE = (IMAGES / "coffee.png").read_bytes()
LABEL = "power drill"  # the seeded, untrained model's answer for both test images
STAGE1 = (
    "Call Function 'resnet50.preprocess' Failed, method: 'classify_top1', "
    "stage index(begin with 1): 1, error msg: "
)


def classify(stub: ms_service_pb2_grpc.MSServiceStub, *images: object) -> pb.PredictReply:
    return predict(
        stub,
        request("resnet50", "classify_top1", [{"image": image} for image in images]),
        timeout=60,
    )


def test_good_and_bad_images_in_one_request(kit_stub: ms_service_pb2_grpc.MSServiceStub) -> None:
    reply = classify(kit_stub, CHELSEA, b"not an image", COFFEE)
    assert errors(reply) == [
        (0, ""),
        (3, STAGE1 + "cannot decode image: not a JPEG, PNG, WebP, GIF or BMP image"),
        (0, ""),
    ]
    assert len(reply.instances) == 3
    assert output(reply, 0, "label") == output(reply, 2, "label") == LABEL
    label = reply.instances[0].items["label"]
    assert (label.dtype, list(label.shape.dims)) == (pb.MS_STRING, [])
    assert not reply.instances[1].items


def test_a_bomb_fails_alone_and_the_server_keeps_serving(
    kit_stub: ms_service_pb2_grpc.MSServiceStub,
) -> None:
    bomb = bytearray(CHELSEA)
    marker = bomb.index(b"\xff\xc0")
    bomb[marker + 5 : marker + 9] = (30000).to_bytes(2, "big") * 2
    reply = classify(kit_stub, bytes(bomb))
    # One failed instance: the collapsed single-error reply shape.
    assert len(reply.instances) == 0
    [(code, text)] = errors(reply)
    assert code == 3 and text.startswith(STAGE1 + "image too large: ")
    again = classify(kit_stub, COFFEE)
    assert errors(again) == [] and output(again, 0, "label") == LABEL


def test_text_instead_of_bytes_is_an_instance_error(
    kit_stub: ms_service_pb2_grpc.MSServiceStub,
) -> None:
    reply = classify(kit_stub, "chelsea.jpg", CHELSEA)
    assert errors(reply)[0] == (3, STAGE1 + "image must be bytes (MS_BYTES), got str")
    assert errors(reply)[1] == (0, "") and output(reply, 1, "label") == LABEL


def test_the_example_client(kit_server: ReferenceServer) -> None:
    done = subprocess.run(
        [sys.executable, "resnet50_client.py", kit_server.address],
        cwd=ROOT / "examples",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f"[{{'label': '{LABEL}'}}, {{'label': '{LABEL}'}}]"
    assert lines[1:3] == [
        f"./test_image/chelsea.jpg: {LABEL}",
        f"./test_image/coffee.png: {LABEL}",
    ]
    # classify_top5, as upstream's example calls it too: five labels and five scores per image.
    # (The printed dicts' key order is the reply map's, which protobuf does not fix.)
    assert lines[3].startswith("[{'") and f"'label': '{LABEL};" in "\n".join(lines[3:])
    labels = imagenet_labels()
    for name, best in (("chelsea.jpg", 30.627), ("coffee.png", 51.927)):
        start = lines.index(f"./test_image/{name}:") + 1
        rows = [re.fullmatch(r" +(-?\d+\.\d{2})  (.+)", line) for line in lines[start : start + 5]]
        assert all(rows), lines[start : start + 5]
        scores = [float(row[1]) for row in rows if row]
        texts = [row[2] for row in rows if row]
        assert texts[0] == LABEL and all(text in labels for text in texts)
        assert scores == sorted(scores, reverse=True) and abs(scores[0] - best) < 0.01


def test_cli_refuses_a_bad_weights_file_at_start(tmp_path: pathlib.Path) -> None:
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"PK not really")
    done = run_cli(["--address", "127.0.0.1:0", "--resnet-weights", str(bad)])
    assert done.returncode == 2
    [line] = done.stderr.strip().splitlines()
    assert "not a NumPy .npz archive" in line and str(bad) in line
