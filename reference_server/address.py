"""Listening addresses as Serving r1.6 accepts them: ``host:port``, ``[v6]:port``, ``unix:PATH``.

Pure parsing, no sockets. The error texts are upstream's (prefix ``Serving Error: ``).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

SERVER_TAG = "Serving gRPC"
UNIX_PREFIX = "unix:"
_PORT = re.compile(r"[+-]?[0-9]+")


class AddressError(RuntimeError):
    """An address that cannot be listened on, whatever the network says."""


@dataclass(frozen=True)
class ListenAddress:
    given: str  # as the caller wrote it: error texts quote it
    target: str  # what grpc's add_*_port gets
    host: str | None = None  # TCP only, brackets kept for IPv6
    unix_path: str | None = None  # unix only: the socket file, absolute

    def bound(self, port: int) -> str:
        """The address a client dials once the server listens (``port``: the real TCP port)."""
        if self.unix_path is not None:
            return UNIX_PREFIX + self.unix_path
        return f"{self.host}:{port}"


def parse_listen_address(address: str, *, allow_port_zero: bool = False) -> ListenAddress:
    """Check ``address`` and say how to bind it; AddressError with upstream's text if malformed.

    ``allow_port_zero``: accept port 0 (the OS picks a free port), an extension of this project;
    upstream's range is 1..65535.
    """
    if address.startswith(UNIX_PREFIX):
        return _unix_address(address)
    colon = address.rfind(":")
    if colon < 0:
        raise AddressError(
            f"Serving Error: The format of the {SERVER_TAG} address '{address}' is illegal"
        )
    if colon == 0 or colon == len(address) - 1:
        raise AddressError(
            f"Serving Error: Missing ip or port of the {SERVER_TAG} address '{address}'"
        )
    host, port_text = address[:colon], address[colon + 1 :]
    if not _PORT.fullmatch(port_text):
        raise AddressError(
            f"Serving Error: The type of {SERVER_TAG} address '{address}' port is not a number"
        )
    port = int(port_text)
    lowest = 0 if allow_port_zero else 1
    if not lowest <= port <= 65535:
        raise AddressError(
            f"Serving Error: The port of the {SERVER_TAG} address '{address}' "
            "is out of legal range [1 ~ 65535]"
        )
    return ListenAddress(given=address, target=f"{host}:{port}", host=host)


def _unix_address(address: str) -> ListenAddress:
    path = address[len(UNIX_PREFIX) :]
    if path.startswith("//"):  # the URI form unix:///abs/path
        path = path[2:]
    if not path:
        raise AddressError("Serving Error: Empty grpc server unix domain socket address")
    # Resolved now: relative paths mean the working directory at start, and stop() must find
    # the same file whatever the working directory is by then.
    absolute = os.path.abspath(path)
    return ListenAddress(given=address, target=UNIX_PREFIX + absolute, unix_path=absolute)


__all__ = ["SERVER_TAG", "UNIX_PREFIX", "AddressError", "ListenAddress", "parse_listen_address"]
