"""The "resnet50" example client of MindSpore Serving, on the reference client.

As upstream's example: every file under ./test_image/ is read as bytes and sent as one
instance {"image": bytes}, first to method classify_top1 of servable resnet50 (one label text per
image), then to classify_top5 (per image: the five best labels joined by ";" best first, and a
float32 array of their five scores). The results are printed. The only changes: the import line
(``from reference_client import Client``) and an optional address argument.

    cd examples && python resnet50_client.py               # server on localhost:5500
    cd examples && python resnet50_client.py unix:/tmp/ms.sock
"""

import os
import sys

from reference_client import Client


def read_images():
    """The paths and contents of the files under ./test_image/."""
    image_files = []
    for path, _, file_list in os.walk("./test_image/"):
        for file_name in sorted(file_list):
            image_files.append(os.path.join(path, file_name))
    images_buffer = []
    for image_file in image_files:
        with open(image_file, "rb") as fp:
            images_buffer.append(fp.read())
    return image_files, images_buffer


def run_classify_top1(address="localhost:5500"):
    """Classify every test image with servable resnet50, method classify_top1."""
    client = Client(address, "resnet50", "classify_top1")
    image_files, images_buffer = read_images()
    instances = [{"image": image} for image in images_buffer]
    result = client.infer(instances)
    print(result)
    if isinstance(result, list):
        for image_file, outcome in zip(image_files, result, strict=True):
            print(f"{image_file}: {outcome.get('label', outcome.get('error'))}")


def run_classify_top5(address="localhost:5500"):
    """The five best labels and their scores for every test image (method classify_top5)."""
    client = Client(address, "resnet50", "classify_top5")
    image_files, images_buffer = read_images()
    instances = [{"image": image} for image in images_buffer]
    result = client.infer(instances)
    print(result)
    if isinstance(result, list):
        for image_file, outcome in zip(image_files, result, strict=True):
            if "error" in outcome:
                print(f"{image_file}: {outcome['error']}")
                continue
            print(f"{image_file}:")
            for label, score in zip(outcome["label"].split(";"), outcome["score"], strict=True):
                print(f"  {score:8.2f}  {label}")


if __name__ == "__main__":
    run_classify_top1(*sys.argv[1:2])
    run_classify_top5(*sys.argv[1:2])
