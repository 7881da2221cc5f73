"""The kit's ``conformance`` servable (versions 1 and 2) as Python stages on MindSpore Serving.

``echo`` returns its input and the version that served the call; ``fail`` raises with the text
it is given (upstream answers code 3 with its stage prefix and that text). Upstream starts one
worker process per deployed version and imports this file in each; the worker's command line
(``--version_number=N``) is the only place a Python stage can learn its version.
"""

import sys

import numpy as np
from mindspore_serving.server import register


def _served_version():
    for index, argument in enumerate(sys.argv):
        if argument.startswith("--version_number="):
            return int(argument.split("=", 1)[1])
        if argument == "--version_number" and index + 1 < len(sys.argv):
            return int(sys.argv[index + 1])
    raise RuntimeError(f"no --version_number on this worker's command line: {sys.argv!r}")


_VERSION = np.int64(_served_version())


def echo_stage(x):
    return x, _VERSION


def fail_stage(x, error):
    if not isinstance(error, str):
        raise RuntimeError(f"input error should be a string, but actually {type(error).__name__}")
    if error:
        raise RuntimeError(error)
    return x


@register.register_method(output_names=["y", "version"])
def echo(x):
    y, version = register.add_stage(echo_stage, x, outputs_count=2)
    return y, version


@register.register_method(output_names=["y"])
def fail(x, error):
    y = register.add_stage(fail_stage, x, error, outputs_count=1)
    return y
