"""ResNet-50 ``classify_top1``: the kit's optional ``resnet`` profile servable.

The server's CLI passes ``--resnet-weights FILE.npz`` as ``weights`` and may call
``validate_weights_file`` first to refuse a bad file at start-up with a one-line ValueError.
"""

from .servable import resnet50_servable
from .weights import validate_weights_file

__all__ = ["resnet50_servable", "validate_weights_file"]
