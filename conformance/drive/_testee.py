"""The JSON-lines driver of a testee program: spawn it, read its hello, send calls, read answers.

Every read is bounded. A testee that dies, stalls, writes a line that is not JSON or breaks the
protocol raises :class:`TesteeFailure` (with the tail of its stderr, its log); the process is
then killed, and :class:`TesteePool` starts a fresh one for the next call, so one bad call fails
one requirement, not the run.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import shlex
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from conformance.catalogue import TesteeFailure

HELLO_TIMEOUT_S = 30.0  # a JVM or a first import of grpc+numpy on a loaded machine is slow
CALL_TIMEOUT_S = 20.0  # beyond the call's own bound: how long the testee may take to answer
STDERR_TAIL = 4000
_EOF = object()


@dataclass(frozen=True)
class Hello:
    client: str
    features: frozenset[str]
    # What the client runs on, as the testee reports it (name -> text: its language runtime,
    # gRPC library...): the reports' record of what was certified, not the harness's.
    environment: Mapping[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "client": self.client,
            "features": sorted(self.features),
            "environment": dict(self.environment),
        }


@dataclass(frozen=True)
class Answer:
    """One answer line: exactly one of ``result`` (a RESULT form) or ``raised`` is set."""

    result: Any = None
    raised: Mapping[str, str] | None = None
    seconds: float = 0.0
    line: str = ""

    @property
    def is_error(self) -> bool:
        """True when the client reported a failure: it raised, or answered ``{"error": ...}``."""
        return self.raised is not None or (
            isinstance(self.result, Mapping) and set(self.result) == {"error"}
        )


def parse_hello(line: str) -> Hello:
    message = _json(line, "hello")
    hello = message.get("hello") if isinstance(message, dict) else None
    if not isinstance(hello, dict):
        raise TesteeFailure(f'the first line must be {{"hello": {{...}}}}, got: {line[:200]}')
    client, features = hello.get("client"), hello.get("features", [])
    environment = hello.get("environment", {})
    if not isinstance(client, str) or not client.strip():
        raise TesteeFailure(f'hello: "client" must be a non-empty string, got {client!r}')
    if not isinstance(features, list) or not all(isinstance(f, str) for f in features):
        raise TesteeFailure(f'hello: "features" must be a list of strings, got {features!r}')
    if not isinstance(environment, dict) or not all(
        isinstance(v, str) for v in environment.values()
    ):
        raise TesteeFailure(
            f'hello: "environment" must be an object of strings, got {environment!r:.200}'
        )
    return Hello(client=client, features=frozenset(features), environment=environment)


def _json(line: str, what: str) -> Any:
    try:
        return json.loads(line)
    except ValueError:
        raise TesteeFailure(
            f"the testee wrote a line that is not JSON on stdout (expected the {what}); stdout is "
            f"the protocol's alone, logs go to stderr: {line[:200]!r}"
        ) from None


def command_line(command: str, *lines: str, env: Mapping[str, str] | None = None) -> str:
    """A shell line that replays ``lines`` to the testee (started with ``env`` added to its
    environment, if given), for failure reports."""
    quoted = " ".join(shlex.quote(line) for line in lines)
    if env:
        settings = " ".join(f"{name}={shlex.quote(value)}" for name, value in env.items())
        command = f"{settings} /bin/sh -c {shlex.quote(command)}"
    return f"printf '%s\\n' {quoted} | {command}"


class TesteeProcess:
    """One running testee. Not thread-safe: one call at a time."""

    __test__ = False

    def __init__(
        self,
        command: str,
        *,
        hello_timeout: float = HELLO_TIMEOUT_S,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.command = command
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - closed in close()
        env = dict(os.environ, PYTHONUNBUFFERED="1", **(env or {}))
        self._process = subprocess.Popen(
            ["/bin/sh", "-c", command],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env=env,
            start_new_session=True,  # so that close() reaches the shell's children too
        )
        self._lines: queue.Queue[Any] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self._next_id = 1
        self.hello = parse_hello(self._readline(hello_timeout, "its hello"))

    def _read(self) -> None:
        assert self._process.stdout is not None
        for raw in self._process.stdout:
            self._lines.put(raw.decode("utf-8", errors="replace").rstrip("\r\n"))
        self._lines.put(_EOF)

    def _readline(self, timeout: float, waiting_for: str) -> str:
        try:
            item = self._lines.get(timeout=timeout)
        except queue.Empty:
            raise TesteeFailure(
                f"the testee stalled: no line within {timeout:g} s while waiting for "
                f"{waiting_for}{self._log()}"
            ) from None
        if item is _EOF:
            try:
                code = self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                code = None
            raise TesteeFailure(
                f"the testee closed its stdout (exit status {code}) while the harness waited for "
                f"{waiting_for}{self._log()}"
            )
        return str(item)

    def call(self, call: Mapping[str, Any], timeout: float) -> tuple[Answer, str]:
        """Send one call; returns the answer and the JSON line sent (for reports)."""
        number = self._next_id
        self._next_id += 1
        line = json.dumps({"id": number, "call": call}, separators=(",", ":"))
        assert self._process.stdin is not None
        started = time.monotonic()
        try:
            self._process.stdin.write(line.encode("utf-8") + b"\n")
            self._process.stdin.flush()
        except OSError as exc:
            raise TesteeFailure(f"the testee's stdin is closed ({exc}){self._log()}") from None
        text = self._readline(timeout, f"the answer to call {number}")
        seconds = time.monotonic() - started
        message = _json(text, f"answer to call {number}")
        return _answer(message, number, text, seconds), line

    def log(self) -> str:
        """The testee's stderr so far (its tail)."""
        try:
            self._stderr.seek(0, os.SEEK_END)
            size = self._stderr.tell()
            self._stderr.seek(max(0, size - STDERR_TAIL))
            return self._stderr.read().decode("utf-8", errors="replace")
        except (OSError, ValueError):
            return ""

    def _log(self) -> str:
        tail = self.log().strip()
        return (
            f"\n--- testee stderr (tail) ---\n{tail}"
            if tail
            else "\n(the testee's stderr is empty)"
        )

    def alive(self) -> bool:
        return self._process.poll() is None

    def close(self) -> None:
        """Close stdin (a polite end), then SIGTERM and SIGKILL the testee's process group."""
        if self._process.stdin is not None:
            with contextlib.suppress(OSError):
                self._process.stdin.close()
        try:
            self._process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            for sig, wait in ((signal.SIGTERM, 3.0), (signal.SIGKILL, 5.0)):
                try:
                    os.killpg(self._process.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    self._process.wait(timeout=wait)
                    break
                except subprocess.TimeoutExpired:
                    continue
        self._reader.join(timeout=2)
        self._stderr.close()


def _answer(message: Any, number: int, line: str, seconds: float) -> Answer:
    if not isinstance(message, dict) or message.get("id") != number:
        raise TesteeFailure(f'expected {{"id": {number}, ...}}, got: {line[:300]}')
    keys = set(message) - {"id"}
    if keys == {"result"}:
        return Answer(result=message["result"], seconds=seconds, line=line)
    if keys == {"raised"}:
        raised = message["raised"]
        if not isinstance(raised, dict) or not all(
            isinstance(raised.get(k), str) for k in ("type", "message")
        ):
            raise TesteeFailure(
                f'"raised" must be {{"type": STR, "message": STR}}, got: {line[:300]}'
            )
        return Answer(raised=raised, seconds=seconds, line=line)
    raise TesteeFailure(
        f'an answer holds "id" and exactly one of "result" or "raised": {line[:300]}'
    )


@dataclass
class TesteePool:
    """Keeps one live testee; after any failure the next call starts a fresh one."""

    __test__ = False

    command: str
    hello_timeout: float = HELLO_TIMEOUT_S
    env: Mapping[str, str] = field(default_factory=dict)  # added to the harness's environment
    started: int = 0
    _current: TesteeProcess | None = field(default=None, repr=False)
    _hello: Hello | None = field(default=None, repr=False)
    _last_log: str = field(default="", repr=False)  # the stderr of the last testee discarded

    def process(self) -> TesteeProcess:
        if self._current is not None and not self._current.alive():
            self._discard()
        if self._current is None:
            self.started += 1
            self._current = TesteeProcess(
                self.command, hello_timeout=self.hello_timeout, env=self.env
            )
            self._hello = self._current.hello
        return self._current

    @property
    def hello(self) -> Hello:
        if self._hello is None:
            self.process()
        assert self._hello is not None
        return self._hello

    def call(self, call: Mapping[str, Any], timeout: float = CALL_TIMEOUT_S) -> Answer:
        """One call; a TesteeFailure leaves the pool ready to start a fresh testee.

        The failure's message carries the call as a replayable command line.
        """
        process = self.process()
        line = json.dumps({"id": process._next_id, "call": call}, separators=(",", ":"))
        try:
            answer, _ = process.call(call, timeout)
        except TesteeFailure as exc:
            self._discard()
            replay = command_line(self.command, line, env=self.env)
            raise TesteeFailure(f"{exc}\nthe call: {replay}") from None
        return answer

    def last_log(self) -> str:
        """The stderr (tail) of the running testee, else of the last one discarded."""
        return self._last_log if self._current is None else self._current.log()

    def _discard(self) -> None:
        if self._current is not None:
            self._last_log = self._current.log()
            self._current.close()
            self._current = None

    def close(self) -> None:
        self._discard()


__all__ = [
    "CALL_TIMEOUT_S",
    "HELLO_TIMEOUT_S",
    "STDERR_TAIL",
    "Answer",
    "Hello",
    "TesteePool",
    "TesteeProcess",
    "command_line",
    "parse_hello",
]
