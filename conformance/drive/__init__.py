"""Driving the implementation under test: the run's servers (launched from ``--server-cmd`` or
reached at ``--target``), their endpoints, TLS files, readiness probes and hang guards; and for
``--client-cmd``, the client's testee (JSON lines) and the recording servers it is sent to.

Everything a run needs is derived from the profile declarations (conformance.catalogue).
"""

from conformance.drive import _guard as guard
from conformance.drive._clients import LIMIT_BYTES, ClientSession, Exchange
from conformance.drive._endpoints import MAX_MESSAGE_BYTES, UNLIMITED, Endpoint
from conformance.drive._launch import (
    DEFAULT_GRACE_S,
    DEFAULT_MAX_MSG_MB_SIZE,
    LaunchError,
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
    Probe,
    handshake_once,
    or_plaintext,
    predict_once,
    probe_request,
    wait_ready,
)
from conformance.drive._recorder import DeadAddress, RecordingServer, ServerTLS, Stall, Status
from conformance.drive._run import (
    Launched,
    RunContext,
    ServerExit,
    applicability,
    choose_seed,
    make_scratch,
    start,
)
from conformance.drive._supervise import Incident, Supervised, Supervisor, health_problem
from conformance.drive._testee import (
    Answer,
    Hello,
    TesteeFailure,
    TesteePool,
    TesteeProcess,
    command_line,
    parse_hello,
)
from conformance.drive._tls import CLIENT_NAME, SERVER_NAMES, WRONG_HOST, TLSFiles, make_tls_files

__all__ = [
    "CLIENT_NAME",
    "DEFAULT_GRACE_S",
    "DEFAULT_MAX_MSG_MB_SIZE",
    "LIMIT_BYTES",
    "MAX_MESSAGE_BYTES",
    "SERVER_NAMES",
    "UNLIMITED",
    "WRONG_HOST",
    "Answer",
    "ClientSession",
    "DeadAddress",
    "Endpoint",
    "Exchange",
    "Hello",
    "Incident",
    "LaunchError",
    "Launched",
    "Probe",
    "RecordingServer",
    "RunContext",
    "ServerExit",
    "ServerProcess",
    "ServerSettings",
    "ServerTLS",
    "Stall",
    "Status",
    "Supervised",
    "Supervisor",
    "TLSFiles",
    "TesteeFailure",
    "TesteePool",
    "TesteeProcess",
    "applicability",
    "choose_seed",
    "command_line",
    "expand",
    "free_tcp_address",
    "guard",
    "handshake_once",
    "health_problem",
    "is_running",
    "make_scratch",
    "make_tls_files",
    "or_plaintext",
    "parse_hello",
    "predict_once",
    "probe_request",
    "short_unix_address",
    "start",
    "tree_pids",
    "tree_rss_bytes",
    "wait_ready",
]
