"""reference_server.memory.LargeCalls: malloc's burst settings while large calls come, memory
handed back once they stop (issue 21), with recording callables instead of glibc's."""

from __future__ import annotations

import time

from reference_server.memory import LargeCalls

IDLE_S = 0.05
WAIT_S = 5.0


class Recorder:
    def __init__(self, idle_s: float = IDLE_S) -> None:
        self.events: list[str] = []
        self.calls = LargeCalls(
            lambda: self.events.append("idle"), lambda: self.events.append("burst"), idle_s
        )

    def wait_for(self, count: int) -> None:
        deadline = time.monotonic() + WAIT_S
        while len(self.events) < count and time.monotonic() < deadline:
            time.sleep(0.005)


def test_idle_comes_once_after_the_last_call_ends() -> None:
    recorder = Recorder()
    calls = recorder.calls
    calls.started()
    calls.ended()
    ended = time.monotonic()
    recorder.wait_for(1)
    assert recorder.events == ["idle"]
    assert time.monotonic() - ended >= IDLE_S
    time.sleep(IDLE_S * 3)
    assert recorder.events == ["idle"]  # once per quiet spell, not repeatedly


def test_no_idle_while_a_call_is_in_progress() -> None:
    recorder = Recorder()
    calls = recorder.calls
    calls.started()
    calls.started()
    calls.ended()
    time.sleep(IDLE_S * 4)
    assert recorder.events == []
    calls.ended()
    recorder.wait_for(1)
    assert recorder.events == ["idle"]


def test_a_burst_after_idle_restores_the_settings_first() -> None:
    recorder = Recorder()
    calls = recorder.calls
    calls.started()
    calls.ended()
    recorder.wait_for(1)
    calls.started()
    assert recorder.events == ["idle", "burst"]
    calls.started()  # already in a burst: nothing to restore
    assert recorder.events == ["idle", "burst"]
    calls.ended()
    calls.ended()
    recorder.wait_for(3)
    assert recorder.events == ["idle", "burst", "idle"]


def test_calls_closer_than_idle_keep_the_burst() -> None:
    recorder = Recorder(idle_s=0.5)
    calls = recorder.calls
    for _ in range(5):
        calls.started()
        calls.ended()
        time.sleep(0.01)
    assert recorder.events == []
    recorder.wait_for(1)
    assert recorder.events == ["idle"]
