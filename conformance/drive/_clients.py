"""What the client checks (``--client-cmd``) share in one run: the testee, the recording
servers, the run's TLS files.

Servers start lazily, one per configuration the requested checks need, and stay up for the run;
each check scripts the reply it needs before its call. The checks run one at a time.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from conformance.drive._recorder import DeadAddress, RecordingServer, ServerTLS
from conformance.drive._testee import CALL_TIMEOUT_S, Answer, TesteePool, command_line
from conformance.drive._tls import TLSFiles
from protos import ms_service_pb2 as pb

SERVABLE = "conformance"
METHOD = "echo"
LIMIT_BYTES = 1024 * 1024  # the client-limits server's message limit: 1 MiB

SERVER_KINDS = ("tcp", "unix", "tls", "tls-other-ca", "tls-wrong-host", "mtls", "limits")
# gRPC's C core reads its default trust roots from this file when it is set (client-tls's
# CL-TLS-ROOTS-ENV): only the testee started for that check gets it.
ROOTS_ENV = "GRPC_DEFAULT_SSL_ROOTS_FILE_PATH"


@dataclass(frozen=True)
class Exchange:
    """One call: what the testee answered, what the server received, how to replay it."""

    answer: Answer
    requests: list[pb.PredictRequest]
    replay: str  # a shell command line that sends the call to the testee again

    def request(self) -> pb.PredictRequest:
        """The one request the call sent; AssertionError when there was not exactly one."""
        if len(self.requests) != 1:
            raise AssertionError(
                f"the server received {len(self.requests)} requests for one call (expected 1); "
                f"the testee answered {self.answer.line[:300]}"
            )
        return self.requests[0]


class ClientSession:
    """One run's testee pool and servers. Close it at the end."""

    def __init__(
        self,
        command: str,
        tls: TLSFiles,
        scratch: str,
        *,
        seed: int | None = None,
        examples: float = 1.0,
    ) -> None:
        self.command = command
        self.tls = tls
        self.seed = seed  # None: derandomized
        self.examples = examples  # multiplies every property's example count
        self.pool = TesteePool(command)
        # A second testee, started with ROOTS_ENV naming the run's CA, for calls that give none.
        self.roots_pool = TesteePool(command, env={ROOTS_ENV: tls.ca})
        self.last_pool = self.pool
        self.last_replay: str | None = None  # the last call sent, as a replayable command line
        # Its own short folder in the run's scratch (unix socket paths max out at 107 bytes).
        self.scratch = tempfile.mkdtemp(prefix="cc", dir=scratch)
        self._servers: dict[str, RecordingServer] = {}
        self._dead: DeadAddress | None = None

    # --- the harness's side ------------------------------------------------------------------

    def server(self, kind: str) -> RecordingServer:
        if kind not in self._servers:
            self._servers[kind] = self._start(kind)
        return self._servers[kind]

    def _start(self, kind: str) -> RecordingServer:
        if kind == "tcp":
            return RecordingServer()
        if kind == "unix":
            return RecordingServer(unix_dir=self.scratch)
        if kind == "limits":
            return RecordingServer(max_message_bytes=LIMIT_BYTES)
        tls = self.tls
        chosen = {
            "tls": ServerTLS(tls.server_cert, tls.server_key),
            "tls-other-ca": ServerTLS(tls.foreign_server_cert, tls.foreign_server_key),
            "tls-wrong-host": ServerTLS(tls.wrong_host_cert, tls.wrong_host_key),
            "mtls": ServerTLS(tls.server_cert, tls.server_key, client_ca=tls.ca),
        }.get(kind)
        if chosen is None:
            raise ValueError(f"unknown server kind {kind!r}: one of {', '.join(SERVER_KINDS)}")
        return RecordingServer(tls=chosen)

    def dead_address(self) -> str:
        if self._dead is None:
            self._dead = DeadAddress()
        return self._dead.address

    def tls_for(self, kind: str, *, roots_from_env: bool = False) -> dict[str, str | None] | None:
        """The call's ``tls`` object for a server kind: trust our CA (or, ``roots_from_env``,
        name no CA at all); a client cert for mtls."""
        if not kind.startswith(("tls", "mtls")):
            return None
        tls = self.tls
        ca = None if roots_from_env else tls.ca
        if kind == "mtls":
            return {"ca": ca, "cert": tls.client_cert, "key": tls.client_key}
        return {"ca": ca, "cert": None, "key": None}

    def testee_log(self) -> str:
        """The stderr (tail) of the testee that took the last call."""
        return self.last_pool.last_log()

    # --- calls -------------------------------------------------------------------------------
    def call(
        self,
        kind: str,
        instances: Sequence[Mapping[str, Any]],
        *,
        servable: str = SERVABLE,
        method: str = METHOD,
        version: int = 0,
        use_async: bool = False,
        timeout: float | None = None,
        address: str | None = None,
        read_timeout: float = CALL_TIMEOUT_S,
        roots_from_env: bool = False,
    ) -> Exchange:
        """Send one call to the testee and collect what the ``kind`` server received.

        ``instances``: input name -> value form. ``address`` overrides the server's (a dead one).
        ``roots_from_env``: the call names no CA, and goes to the testee started with
        ROOTS_ENV naming the run's CA.
        """
        server = None if address is not None else self.server(kind)
        call: dict[str, Any] = {
            "address": address if server is None else server.address,
            "servable": servable,
            "method": method,
            "version": version,
            "tls": self.tls_for(kind, roots_from_env=roots_from_env),
            "instances": [dict(instance) for instance in instances],
            "async": use_async,
        }
        if timeout is not None:
            call["timeout"] = timeout
        pool = self.roots_pool if roots_from_env else self.pool
        replay = command_line(self.command, _line(call), env=pool.env)
        self.last_pool, self.last_replay = pool, replay
        if server is not None:
            server.forget()
        answer = pool.call(call, timeout=read_timeout)
        requests = [] if server is None else server.taken()
        return Exchange(answer=answer, requests=requests, replay=replay)

    def close(self) -> None:
        self.pool.close()
        self.roots_pool.close()
        for server in self._servers.values():
            server.stop()
        self._servers.clear()
        if self._dead is not None:
            self._dead.close()
        shutil.rmtree(self.scratch, ignore_errors=True)


def _line(call: Mapping[str, Any]) -> str:
    return json.dumps({"id": 1, "call": call}, separators=(",", ":"))


__all__ = [
    "LIMIT_BYTES",
    "METHOD",
    "ROOTS_ENV",
    "SERVABLE",
    "SERVER_KINDS",
    "ClientSession",
    "Exchange",
]
