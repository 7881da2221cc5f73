"""Launching a server under test: placeholder expansion, process groups, readiness."""

from __future__ import annotations

import json
import os
import shlex
import socket
import subprocess
import sys
import tempfile
import time

import pytest

from conformance.catalogue import PLACEHOLDERS, LaunchError, placeholders_in
from conformance.drive import (
    Endpoint,
    ServerProcess,
    ServerSettings,
    expand,
    free_tcp_address,
    is_running,
    short_unix_address,
    tree_pids,
    tree_rss_bytes,
    wait_ready,
)

ARGV_DUMP = f"{shlex.quote(sys.executable)} -c 'import json,sys; print(json.dumps(sys.argv[1:]))'"


def shell_argv(command: str) -> list[str]:
    done = subprocess.run(["/bin/sh", "-c", command], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    result: list[str] = json.loads(done.stdout)
    return result


def test_each_placeholder_is_exactly_one_shell_word() -> None:
    values = {
        "address": "unix:/tmp/a b/s.sock",
        "certificate": "",  # plaintext: an empty word, not a missing one
        "private_key": "it's; rm -rf /",
        "custom_ca": '$HOME `id` "q"',
        "verify_client": "true",
        "max_msg_mb_size": "7",
        "grace": "2.5",
    }
    template = ARGV_DUMP + " " + " ".join("{" + name + "}" for name in PLACEHOLDERS)
    assert shell_argv(expand(template, values)) == [values[name] for name in PLACEHOLDERS]


def test_other_braces_are_left_alone() -> None:
    command = ARGV_DUMP + " '{x}' ${HOME:+set} {address}"
    assert shell_argv(expand(command, {"address": "a:1"})) == ["{x}", "set", "a:1"]
    assert placeholders_in("{address} {adress} {certificate}") == {"address", "certificate"}


def test_settings_fill_every_placeholder() -> None:
    values = ServerSettings("127.0.0.1:1", verify_client=True, max_msg_mb_size=3).values()
    assert values == {
        "address": "127.0.0.1:1",
        "certificate": "",
        "private_key": "",
        "custom_ca": "",
        "verify_client": "true",
        "max_msg_mb_size": "3",
        "grace": "5",
    }


def test_addresses() -> None:
    host, port = free_tcp_address().split(":")
    assert host == "127.0.0.1" and 0 < int(port) < 65536
    assert short_unix_address("/tmp/msabc") == "unix:/tmp/msabc/s.sock"
    with pytest.raises(LaunchError, match="too long"):
        short_unix_address("/tmp/" + "x" * 120)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_stop_reaches_the_whole_group_and_kills_a_stubborn_one() -> None:
    # The shell starts a child that ignores SIGTERM and reports its pid: stop() must end both.
    log_dir = tempfile.mkdtemp(prefix="ms", dir="/tmp")
    child = "trap '' TERM; echo $$; while :; do sleep 0.1; done"
    command = f"sh -c {shlex.quote(child)} & wait # {{address}}"
    process = ServerProcess("stubborn", command, ServerSettings("127.0.0.1:1"), log_dir)
    deadline = time.monotonic() + 10
    while not process.tail() and time.monotonic() < deadline:
        time.sleep(0.05)
    child_pid = int(process.tail().split()[0])
    started = time.monotonic()
    process.stop(grace_s=0.5)
    assert time.monotonic() - started < 15  # the grace, then SIGKILL: not a wait for the child
    deadline = time.monotonic() + 5
    while _alive(child_pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child_pid)


def test_a_server_that_exits_is_reported_with_its_output() -> None:
    log_dir = tempfile.mkdtemp(prefix="ms", dir="/tmp")
    command = "echo 'cannot bind {address}' >&2; exit 7"
    process = ServerProcess("core", command, ServerSettings("127.0.0.1:9"), log_dir)
    with pytest.raises(LaunchError) as caught:
        wait_ready(Endpoint("core", "127.0.0.1:9"), time.monotonic() + 20, process)
    message = str(caught.value)
    assert "exited with status 7" in message and "cannot bind 127.0.0.1:9" in message
    assert "command: echo 'cannot bind 127.0.0.1:9'" in message


def test_a_target_that_never_answers_times_out() -> None:
    # It accepts connections (it may be starting): waited for until the deadline.
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        address = f"127.0.0.1:{listener.getsockname()[1]}"
        started = time.monotonic()
        with pytest.raises(LaunchError, match="did not answer a Predict"):
            wait_ready(Endpoint("core", address), time.monotonic() + 1.0)
    assert time.monotonic() - started < 15  # its 1 s deadline, however busy the machine


def test_a_target_that_refuses_connections_fails_at_once() -> None:
    started = time.monotonic()
    with pytest.raises(LaunchError, match=r"connection refused at 127\.0\.0\.1:"):
        wait_ready(Endpoint("core", free_tcp_address()), time.monotonic() + 60.0)
    with pytest.raises(LaunchError, match=r"no such socket file: /nonexistent/s\.sock"):
        wait_ready(Endpoint("core", "unix:/nonexistent/s.sock"), time.monotonic() + 60.0)
    assert time.monotonic() - started < 30  # not the 60 s deadline


def test_the_shell_reports_the_servers_own_status_after_sigterm() -> None:
    # SIGTERM reaches the whole group; the shell traps it and reports the server's status
    # (here 0 after a clean stop, 3 for a server that exits 3), never its own -15.
    log_dir = tempfile.mkdtemp(prefix="ms", dir="/tmp")
    for code in (0, 3):
        server = (
            f"{shlex.quote(sys.executable)} -c 'import signal, sys, time; "
            f"signal.signal(signal.SIGTERM, lambda *a: sys.exit({code})); "
            'print("up", flush=True); time.sleep(30)\''
        )
        command = f"cd /tmp && {server} # {{address}} {{grace}}"
        process = ServerProcess("graceful", command, ServerSettings("127.0.0.1:1"), log_dir)
        try:
            deadline = time.monotonic() + 20
            while "up" not in process.tail() and time.monotonic() < deadline:
                time.sleep(0.05)
            assert "up" in process.tail()
            process.terminate()
            assert process.wait(10) == code
        finally:
            process.stop()


def test_the_process_tree_and_its_memory() -> None:
    log_dir = tempfile.mkdtemp(prefix="ms", dir="/tmp")
    # The shell, a child holding 64 MiB it wrote, and that child's own child.
    child = (
        f"{shlex.quote(sys.executable)} -c 'import subprocess, sys, time; "
        'kept = b"x" * (64 << 20); '
        'subprocess.Popen(["sleep", "30"]); print("up", flush=True); time.sleep(30)\''
    )
    process = ServerProcess(
        "tree", f"{child} # {{address}}", ServerSettings("127.0.0.1:1"), log_dir
    )
    try:
        deadline = time.monotonic() + 20
        while "up" not in process.tail() and time.monotonic() < deadline:
            time.sleep(0.05)
        pids = tree_pids(process.pid)
        assert pids[0] == process.pid and len(pids) == 3, pids
        assert all(is_running(pid) for pid in pids)
        assert tree_rss_bytes(process.pid) > 64 << 20
    finally:
        process.stop()
    assert not is_running(process.pid)
    assert tree_pids(process.pid) == [] and tree_rss_bytes(process.pid) == 0
