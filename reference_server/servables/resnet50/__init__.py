"""ResNet-50 ``classify_top1``, ``classify_top1_v1``, ``classify_top5``: the kit's optional
``resnet`` profile servable, as upstream's example deploys it.

The server's CLI passes ``--resnet-weights FILE.npz`` as ``weights`` and may call
``validate_weights_file`` first to refuse a bad file at start-up with a one-line ValueError.
"""

from .servable import resnet50_servable
from .weights import validate_weights_file

__all__ = ["resnet50_servable", "validate_weights_file"]
