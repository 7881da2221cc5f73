"""Keeping launched servers serving, so that one check's damage is blamed on that check alone.

With ``--server-cmd`` the harness owns its servers. After each check, every server its profile
uses must still answer a well-formed ``conformance.echo`` exactly (the *health echo*). One that
does not (its process exited, it hung, it answers something else, such as a dying upstream's
``servable is not available``) is an *incident*: the check that was running fails with it, the
report names it once with the last request the check sent, and the server is started again from
the same command line at the same address. Every later requirement is then judged on a server
that serves, instead of failing as "hung on an earlier request".

A server is supervised only if it answered the health echo right after it became ready: a
server that never echoes correctly fails the echo checks themselves, and restarting it after
every check would prove nothing. The state (each server's current process group, incidents)
lives in files in the run's scratch folder, under a lock, so that xdist workers share it and
the controller stops restarted servers at the end.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass

import grpc

from conformance.drive._endpoints import Endpoint
from conformance.drive._guard import clear as clear_hung
from conformance.drive._guard import hung as hung_mark
from conformance.drive._launch import ServerProcess, is_running
from protos import ms_service_pb2 as pb
from protos import ms_service_pb2_grpc

HEALTH_TIMEOUT_S = 10.0  # generous: a correct server answers a tiny echo in milliseconds
EXIT_GRACE_S = 2.0  # a server whose echo found its port refused, if exiting, is gone by then
_ENDED = "a well-formed echo ended with gRPC "
_UNAVAILABLE = _ENDED + grpc.StatusCode.UNAVAILABLE.name
_STOP_GRACE_S = 8.0
_HEALTH_DATA = b"\x00\x00\xc0\x3f\x00\x00\x00\x80\x00\x00\x20\xc1"  # float32 1.5, -0.0, -10.0


def health_request() -> pb.PredictRequest:
    request = pb.PredictRequest(
        servable_spec=pb.ServableSpec(name="conformance", method_name="echo")
    )
    tensor = request.instances.add().items["x"]
    tensor.dtype = pb.MS_FLOAT32
    tensor.shape.dims.append(3)
    tensor.data = _HEALTH_DATA
    return request


def health_problem(endpoint: Endpoint, timeout_s: float = HEALTH_TIMEOUT_S) -> str | None:
    """None if the server at ``endpoint`` echoes a small float32 tensor exactly, else what it
    did instead (on a channel of its own: the checks' hang marks do not apply)."""
    with endpoint.open_channel(isolated=True) as channel:
        stub = ms_service_pb2_grpc.MSServiceStub(channel)
        try:
            reply = stub.Predict(health_request(), timeout=timeout_s, wait_for_ready=False)
        except grpc.RpcError as exc:
            if exc.code() == grpc.StatusCode.DEADLINE_EXCEEDED:
                return f"no answer to a well-formed echo within {timeout_s:g} s"
            return f"{_ENDED}{exc.code().name}: {exc.details()}"
    errors = [e for e in reply.error_msg if e.error_code != 0]
    if errors:
        text = errors[0].error_msg.decode("utf-8", "replace")
        return f"a well-formed echo was answered with error code {errors[0].error_code}: {text}"
    if len(reply.instances) != 1:
        return f"a well-formed echo was answered with {len(reply.instances)} instances"
    y = reply.instances[0].items.get("y")
    if y is None or y.dtype != pb.MS_FLOAT32 or list(y.shape.dims) != [3] or y.data != _HEALTH_DATA:
        return "a well-formed echo was answered with another tensor than the one sent"
    return None


@dataclass(frozen=True)
class Supervised:
    """One launched server the harness keeps serving (plain data: it travels to xdist workers)."""

    name: str
    command_line: str
    health: Endpoint  # an endpoint on it that a well-formed call goes through
    endpoints: tuple[str, ...]  # the names of every endpoint that reaches it


@dataclass(frozen=True)
class Incident:
    """A check after which a server no longer served (it was restarted, or could not be)."""

    server: str
    requirement: str
    test: str
    what: str
    request: str | None  # the last request the check sent, as a reproduction snippet
    restarted: bool


class Supervisor:
    """Health checks and restarts of the run's supervised servers (any process of the run)."""

    def __init__(self, scratch: str, servers: dict[str, Supervised], ready_s: float) -> None:
        self.scratch = scratch
        self.servers = servers
        self.ready_s = ready_s
        self._spawned: list[ServerProcess] = []

    # -- state in the scratch folder ------------------------------------------------------------
    def _path(self, name: str) -> str:
        return os.path.join(self.scratch, name)

    @contextlib.contextmanager
    def _locked(self, server: str) -> Iterator[None]:
        with open(self._path(f"supervise-{server}.lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def note_pid(self, server: str, pid: int) -> None:
        with open(self._path(f"supervise-{server}.pids"), "a", encoding="ascii") as file:
            file.write(f"{pid}\n")

    def pids(self, server: str) -> list[int]:
        """Every process group started for ``server``, the current one last."""
        try:
            with open(self._path(f"supervise-{server}.pids"), encoding="ascii") as file:
                return [int(line) for line in file if line.strip()]
        except FileNotFoundError:
            return []

    def current_pid(self, server: str) -> int | None:
        pids = self.pids(server)
        return pids[-1] if pids else None

    def _dead_mark(self, server: str) -> str:
        return self._path(f"supervise-{server}.dead")

    def given_up(self, server: str) -> str | None:
        """Why ``server`` is no longer restarted (a restart failed), or None."""
        try:
            with open(self._dead_mark(server), encoding="utf-8") as file:
                return file.read()
        except FileNotFoundError:
            return None

    def incidents(self) -> list[Incident]:
        try:
            with open(self._path("supervise-incidents.jsonl"), encoding="utf-8") as file:
                return [Incident(**json.loads(line)) for line in file if line.strip()]
        except FileNotFoundError:
            return []

    def _record(self, incident: Incident) -> None:
        with open(self._path("supervise-incidents.jsonl"), "a", encoding="utf-8") as file:
            file.write(json.dumps(asdict(incident)) + "\n")

    # -- after a check ----------------------------------------------------------------------------
    def check(
        self, servers: list[str], requirement: str, test: str, request: str | None
    ) -> list[Incident]:
        """Health-check ``servers`` after the check ``test``; restart each that fails. The
        incidents found (recorded once each, also for the report)."""
        found = []
        for name in servers:
            server = self.servers.get(name)
            if server is None or self.given_up(name) is not None:
                continue
            problem = self._problem(server)
            if problem is None:
                continue
            with self._locked(name):
                problem = self._problem(server)  # another process may have restarted it
                if problem is None:
                    continue
                restarted = self._restart(server, problem)
                incident = Incident(name, requirement, test, problem, request, restarted)
                self._record(incident)
                found.append(incident)
        return found

    def _problem(self, server: Supervised) -> str | None:
        pid = self.current_pid(server.name)
        if pid is not None and not is_running(pid):
            return "its process exited"
        hung = hung_mark(server.health.address)
        if hung is not None:  # a call got no answer: what it left behind may hold the server
            return "a request of this check got no answer: " + hung.removeprefix("not sent: ")
        problem = health_problem(server.health)
        # A crashing server closes its sockets a moment before its process ends: the echo
        # then finds the port refused while the process still runs. Named by what happened.
        refused = problem is not None and problem.startswith(_UNAVAILABLE)
        if refused and pid is not None and _exits_within(pid, EXIT_GRACE_S):
            return "its process exited"
        return problem

    def _restart(self, server: Supervised, problem: str) -> bool:
        pid = self.current_pid(server.name)
        if pid is not None:
            _stop_group(pid)
        process = ServerProcess.from_command_line(
            server.name, server.command_line, server.health.address, self.scratch
        )
        self._spawned.append(process)  # keeps its Popen (and so its exit status) reachable
        self.note_pid(server.name, process.pid)
        deadline = time.monotonic() + self.ready_s
        why = "not ready"
        while time.monotonic() < deadline:
            if process.exit_status() is not None:
                why = f"exited with status {process.exit_status()}: {process.tail()[-300:]}"
                break
            why = health_problem(server.health, timeout_s=1.0) or ""
            if not why:
                clear_hung(server.health.address)
                return True
            time.sleep(0.2)
        with open(self._dead_mark(server.name), "w", encoding="utf-8") as file:
            file.write(
                f"server '{server.name}' stopped serving ({problem}) and did not serve again "
                f"after a restart within {self.ready_s:g} s ({why})"
            )
        return False

    def stop_all(self) -> None:
        """Stop every process group the supervisor started (the first ones are Launched's)."""
        for name in self.servers:
            for pid in self.pids(name)[1:]:
                _stop_group(pid)


def _exits_within(pid: int, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while is_running(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _stop_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + _STOP_GRACE_S
    while time.monotonic() < deadline and is_running(pid):
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


__all__ = [
    "EXIT_GRACE_S",
    "HEALTH_TIMEOUT_S",
    "Incident",
    "Supervised",
    "Supervisor",
    "health_problem",
    "health_request",
]
