"""What the reference client raises.

Every exception is a RuntimeError, as upstream's client documents, so code written against
``mindspore_serving.client`` keeps catching them::

    RuntimeError
     ├── ClientError                 base of everything raised by this package
     │    ├── InvalidInputError      the caller's mistake: a bad argument, SSL file or instance
     │    │                          value; always raised before anything is sent
     │    ├── ClientClosedError      infer()/infer_async() after close()
     │    └── MalformedReplyError    the server's mistake: a reply that breaks the protocol
     └── protos.arrays.GPUUnavailableError
                                     outputs="cupy" without a working CuPy GPU

A failed RPC (dead server, TLS refusal, deadline, message too large) is *not* raised: infer()
returns ``{"error": "Grpc Error, (CODE, 'name'), DETAILS"}`` as upstream does.
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
