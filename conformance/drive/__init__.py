"""Driving the implementation under test: the run's servers (launched from ``--server-cmd`` or
reached at ``--target``), their endpoints, TLS files, readiness probes and hang guards; and for
``--client-cmd``, the client's testee (JSON lines) and the recording servers it is sent to.

Everything a run needs is derived from the profile declarations (conformance.catalogue).
"""

from conformance.drive import _guard as guard
from conformance.drive._clients import LIMIT_BYTES, ClientSession, Exchange
from conformance.drive._endpoints import MAX_MESSAGE_BYTES, Endpoint
from conformance.drive._launch import (
    ServerProcess,
    ServerSettings,
    expand,
    free_tcp_address,
    is_running,
    short_unix_address,
    tree_pids,
    tree_rss_bytes,
)
from conformance.drive._probe import (
    chain_refused,
    handshake_once,
    or_listening,
    predict_once,
    wait_ready,
)
from conformance.drive._recorder import RecordingServer, ServerTLS, Stall, Status
from conformance.drive._run import (
    Launched,
    RunContext,
    ServerExit,
    choose_seed,
    make_scratch,
    start,
)
from conformance.drive._supervise import Incident
from conformance.drive._testee import (
    TesteePool,
    TesteeProcess,
    command_line,
)
from conformance.drive._tls import TLSFiles, make_tls_files

__all__ = [
    "LIMIT_BYTES",
    "MAX_MESSAGE_BYTES",
    "ClientSession",
    "Endpoint",
    "Exchange",
    "Incident",
    "Launched",
    "RecordingServer",
    "RunContext",
    "ServerExit",
    "ServerProcess",
    "ServerSettings",
    "ServerTLS",
    "Stall",
    "Status",
    "TLSFiles",
    "TesteePool",
    "TesteeProcess",
    "chain_refused",
    "choose_seed",
    "command_line",
    "expand",
    "free_tcp_address",
    "guard",
    "handshake_once",
    "is_running",
    "make_scratch",
    "make_tls_files",
    "or_listening",
    "predict_once",
    "short_unix_address",
    "start",
    "tree_pids",
    "tree_rss_bytes",
    "wait_ready",
]
