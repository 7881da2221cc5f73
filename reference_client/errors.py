"""What the reference client raises.

Every exception the client raises is a RuntimeError, as upstream's client documents (two
classes of this package that are not the client's own sit outside this tree: forms.FormError, a
ValueError of the testee protocol's JSON forms, and extras.MissingExtraError, an ImportError
naming the extra to install). Where
upstream's client raises something else for the same mistake (a TypeError, a ValueError, a
UnicodeEncodeError), the exception is *also* an instance of that class, so code written against
``mindspore_serving.client`` catches it either way::

    RuntimeError
     ├── ClientError                 base of everything raised by this package
     │    ├── InvalidInputError      the caller's mistake: a bad argument or instance value;
     │    │    │                     always raised before anything is sent
     │    │    ├── InvalidKeyError       + TypeError: an instance key that is not a str
     │    │    ├── InvalidTextError      + UnicodeEncodeError: a str with a lone surrogate
     │    │    └── VersionRangeError     + ValueError: version_number beyond uint64, at infer
     │    ├── ClientClosedError      infer()/infer_async() after close()
     │    └── MalformedReplyError    the server's mistake: a reply that breaks the protocol
     └── reference_client.arrays.GPUUnavailableError
                                     outputs="cupy" without a working CuPy GPU

Not translated, as upstream: an SSL file that cannot be read raises open()'s OSError from
Client(); and a failed RPC (dead server, TLS refusal, deadline, message too large) is returned by
infer() as ``{"error": "Grpc Error, (CODE, 'name'), DETAILS"}`` but raised as grpc.RpcError by
``infer_async(...).result()``.
"""

from __future__ import annotations


class ClientError(RuntimeError):
    """Base of the exceptions raised by reference_client."""


class InvalidInputError(ClientError):
    """A bad argument or instance value; raised before anything is sent."""


class ClientClosedError(ClientError):
    """The client's channel was closed."""


class MalformedReplyError(ClientError):
    """The server's reply breaks the protocol (error count, dtype, data size, UTF-8)."""


class InvalidKeyError(TypeError, InvalidInputError):
    """An instance key that is not a str (upstream: TypeError from ``**instance``)."""


class InvalidTextError(UnicodeEncodeError, InvalidInputError):
    """A str value UTF-8 cannot encode, a lone surrogate (upstream: the UnicodeEncodeError).

    Built from the UnicodeEncodeError's own arguments, so its text is that error's text.
    """


class VersionRangeError(ValueError, InvalidInputError):
    """version_number above 2**64-1, raised by infer/infer_async (upstream: a ValueError)."""


__all__ = [
    "ClientClosedError",
    "ClientError",
    "InvalidInputError",
    "InvalidKeyError",
    "InvalidTextError",
    "MalformedReplyError",
    "VersionRangeError",
]
