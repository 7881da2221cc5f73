"""One harness run: which profiles run, against which endpoints, with which servers started.

``start`` turns checked RunOptions into a RunContext (plain data the suites read through the
fixtures, shipped to xdist workers as a dict) and, in ``--server-cmd`` mode, the servers it
launched: one per configuration the requested profiles need, started together and each probed
until it answers.
"""

from __future__ import annotations

import dataclasses
import importlib
import os
import random
import shutil
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from conformance.catalogue import (
    BY_ID,
    CORE,
    DEFAULT_LIMITS_MB,
    PROFILES,
    PROFILES_BY_NAME,
    EndpointSpec,
    HostCheck,
    LaunchError,
    Needs,
    OptionsError,
    Profile,
    Readiness,
    RunOptions,
    TesteeFailure,
    TLSMode,
    Transport,
    by_profile,
    placeholders_in,
)
from conformance.drive._endpoints import Endpoint
from conformance.drive._launch import (
    DEFAULT_GRACE_S,
    ServerProcess,
    ServerSettings,
    free_tcp_address,
    short_unix_address,
)
from conformance.drive._probe import (
    Probe,
    fail_if_refused,
    handshake_once,
    or_listening,
    predict_once,
    wait_ready,
)
from conformance.drive._supervise import Supervised, Supervisor, health_problem
from conformance.drive._testee import Hello, TesteeProcess
from conformance.drive._tls import WRONG_HOST, TLSFiles, make_tls_files


@dataclass
class RunContext:
    """Everything the suites need to know about this run (JSON-able via to_dict)."""

    mode: str  # "target" or "server-cmd"
    subject: str  # the target address or the server command
    requested: tuple[str, ...]  # the profiles this run reports on
    explicit: bool  # the profiles were named with --profile
    not_applicable: dict[str, str]  # profile -> why it cannot run here
    endpoints: dict[str, Endpoint]
    tls_files: TLSFiles | None
    seed: int | None  # None: derandomized gating run
    thorough: bool
    scratch: str  # the run's private folder: TLS files, logs, unix sockets, hypothesis's files
    # profile -> why its server did not start (--server-cmd: the server exited with its own
    # message for a configuration the profile needs): the profile's tests fail with it.
    server_failures: dict[str, str] = field(default_factory=dict)
    # address -> the command line that started the server there (--server-cmd), so that a
    # reproduction can say how to start it again: the harness's servers end with the run.
    server_commands: dict[str, str] = field(default_factory=dict)
    # --server-cmd: endpoint name -> the pid of the shell running its server (the process tree
    # the robustness profile watches); empty with --target.
    pids: dict[str, int] = field(default_factory=dict)
    # The seconds {grace} gave each launched server; None: the command has no {grace}.
    grace_s: float | None = None
    # --server-cmd: server name -> how the harness keeps it serving (conformance.drive's
    # supervisor); only servers that answered the health echo once they were ready.
    supervised: dict[str, Supervised] = field(default_factory=dict)
    ready_timeout_s: float = 60.0

    def supervisor(self) -> Supervisor:
        return Supervisor(self.scratch, self.supervised, self.ready_timeout_s)

    def pid_of(self, endpoint: str) -> int | None:
        """The process group now serving ``endpoint`` (a supervised server may have been
        restarted since the run began)."""
        for server in self.supervised.values():
            if endpoint in server.endpoints:
                return self.supervisor().current_pid(server.name)
        return self.pids.get(endpoint)

    # --client-cmd: the testee's hello as read at the start (Hello.to_dict: client, features,
    # environment), what the reports say was certified; None without one or without a valid one.
    testee_hello: dict[str, Any] | None = None

    def runs(self, profile: str) -> bool:
        return profile in self.requested and profile not in self.not_applicable

    def endpoint(self, spec: EndpointSpec) -> Endpoint | None:
        """The endpoint declared by ``spec`` (conformance.catalogue), if this run has one."""
        return self.endpoints.get(spec.name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "subject": self.subject,
            "requested": list(self.requested),
            "explicit": self.explicit,
            "not_applicable": dict(self.not_applicable),
            "endpoints": {name: e.to_dict() for name, e in self.endpoints.items()},
            "tls_files": None if self.tls_files is None else self.tls_files.to_dict(),
            "seed": self.seed,
            "thorough": self.thorough,
            "scratch": self.scratch,
            "server_failures": dict(self.server_failures),
            "server_commands": dict(self.server_commands),
            "pids": dict(self.pids),
            "grace_s": self.grace_s,
            "supervised": {
                name: {**dataclasses.asdict(server), "health": server.health.to_dict()}
                for name, server in self.supervised.items()
            },
            "ready_timeout_s": self.ready_timeout_s,
            "testee_hello": self.testee_hello,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunContext:
        return cls(
            mode=data["mode"],
            subject=data["subject"],
            requested=tuple(data["requested"]),
            explicit=data["explicit"],
            not_applicable=dict(data["not_applicable"]),
            endpoints={n: Endpoint.from_dict(e) for n, e in data["endpoints"].items()},
            tls_files=None if data["tls_files"] is None else TLSFiles.from_dict(data["tls_files"]),
            seed=data["seed"],
            thorough=data["thorough"],
            scratch=data["scratch"],
            server_failures=dict(data.get("server_failures", {})),
            server_commands=dict(data.get("server_commands", {})),
            pids={name: int(pid) for name, pid in data["pids"].items()},
            grace_s=data["grace_s"],
            supervised={
                name: Supervised(
                    name=server["name"],
                    command_line=server["command_line"],
                    health=Endpoint.from_dict(server["health"]),
                    endpoints=tuple(server["endpoints"]),
                )
                for name, server in data.get("supervised", {}).items()
            },
            ready_timeout_s=data.get("ready_timeout_s", 60.0),
            testee_hello=data.get("testee_hello"),
        )


@dataclass(frozen=True)
class ServerExit:
    """A launched server that exited during the run (it should run until the end)."""

    server: str
    status: int
    output_tail: str


@dataclass
class Launched:
    """What a run started and must clean up: server processes and one scratch folder."""

    scratch: str
    processes: list[ServerProcess] = field(default_factory=list)
    supervisor: Supervisor | None = None

    def exited(self) -> list[ServerExit]:
        """The servers that are no longer running (they should run until stop()); a server the
        supervisor restarted is reported as its incident instead."""
        restarted = set()
        if self.supervisor is not None:
            restarted = {n for n in self.supervisor.servers if len(self.supervisor.pids(n)) > 1}
        return [
            ServerExit(process.label, status, process.tail())
            for process in self.processes
            if process.label not in restarted and (status := process.exit_status()) is not None
        ]

    def stop(self) -> None:
        if self.supervisor is not None:
            self.supervisor.stop_all()
        if self.processes:
            with ThreadPoolExecutor(max_workers=len(self.processes)) as pool:
                list(pool.map(lambda process: process.stop(), self.processes))
            self.processes.clear()
        shutil.rmtree(self.scratch, ignore_errors=True)


def choose_seed(options: RunOptions) -> int | None:
    """The hypothesis seed: the given one, a fresh one for --thorough, None (derandomized)."""
    if options.seed is not None:
        return options.seed
    if options.thorough:
        return random.SystemRandom().randrange(2**32)
    return None


@dataclass
class _Config:
    """One server the harness needs: how to start it, how to reach it, how to probe it."""

    settings: ServerSettings
    endpoints: dict[str, Endpoint]
    probe_endpoint: Endpoint | None = None
    probe: Probe = predict_once


_PROBES: dict[Readiness, Probe] = {
    Readiness.PREDICT: predict_once,
    Readiness.HANDSHAKE: handshake_once,
}


def _why_not(profile: Profile, needs: Needs | None, mode: str, given: RunOptions) -> str | None:
    """Why ``profile`` cannot run in this drive mode with these options, from its declaration."""
    if needs is None:
        return f"profile {profile.name} does not apply with --{mode}"
    if needs.placeholders:
        present = placeholders_in(str(given.server_cmd))
        absent = [f"{{{n}}}" for n in needs.placeholders if n not in present]
        if absent:
            return f"the server command has no {' '.join(absent)} placeholder"
    if needs.unix_address and not str(given.target).startswith("unix:"):
        return needs.missing or "the target is not a unix:PATH address"
    missing = [o for o in needs.options if given.value_of(o) is None]
    if missing:
        return needs.missing or f"no {'/'.join('--' + o for o in missing)} given"
    for option, reason in needs.excluded_by:
        if given.value_of(option) is not None:
            return reason
    return None


def applicability(options: RunOptions) -> dict[str, str]:
    """Profile -> why it cannot run here, for every profile whose declaration rules it out."""
    reasons = {
        p.name: _why_not(p, p.drives.get(options.mode), options.mode, options) for p in PROFILES
    }
    return {name: why for name, why in reasons.items() if why is not None}


def _wanted_endpoints(wanted: set[str]) -> list[EndpointSpec]:
    specs = [spec for p in PROFILES if p.name in wanted for spec in p.endpoints]
    return list(dict.fromkeys(specs))


def _launched_endpoint(
    spec: EndpointSpec, address: str, files: TLSFiles, limit: int | None
) -> Endpoint:
    mutual = spec.tls is TLSMode.MUTUAL
    wrong_cert = spec.certificate.name == "WRONG_HOST"
    return Endpoint(
        spec.name,
        address,
        root_ca=None if spec.tls is TLSMode.PLAINTEXT else files.ca,
        client_cert=files.client_cert if mutual else None,
        client_key=files.client_key if mutual else None,
        # The certificate names WRONG_HOST: checking that name matches, any other does not.
        target_name=WRONG_HOST if wrong_cert and spec.host is HostCheck.MATCHING else None,
        max_msg_mb_size=limit if spec.limited else None,
    )


def _server_settings(
    spec: EndpointSpec, address: str, files: TLSFiles, limit: int
) -> ServerSettings:
    settings = ServerSettings(address=address)
    if spec.tls is not TLSMode.PLAINTEXT:
        variant = spec.certificate.value
        settings = dataclasses.replace(
            settings,
            certificate=getattr(files, f"{variant}_cert"),
            private_key=getattr(files, f"{variant}_key"),
        )
    if spec.tls is TLSMode.MUTUAL:
        settings = dataclasses.replace(settings, custom_ca=files.ca, verify_client=True)
    if spec.limited:
        settings = dataclasses.replace(settings, max_msg_mb_size=limit)
    return settings


def _server_cmd_configs(
    wanted: set[str], options: RunOptions, files: TLSFiles, scratch: str
) -> dict[str, _Config]:
    """One server per declared endpoint that has no ``server`` of another; the endpoints that
    name one reach that server differently."""
    limit = options.max_msg_mb_size or DEFAULT_LIMITS_MB
    configs: dict[str, _Config] = {}
    for spec in _wanted_endpoints(wanted):
        config = configs.get(spec.server_name)
        if config is None:
            if spec.transport is Transport.UNIX:
                address = short_unix_address(scratch)
            else:
                address = free_tcp_address()
            config = _Config(_server_settings(spec, address, files, limit), {})
            configs[spec.server_name] = config
        endpoint = _launched_endpoint(spec, config.settings.address, files, limit)
        config.endpoints[spec.name] = endpoint
        if spec.readiness is not Readiness.NONE:
            config.probe_endpoint, config.probe = endpoint, _PROBES[spec.readiness]
    return configs


def _target_endpoints(wanted: set[str], options: RunOptions) -> dict[str, Endpoint]:
    """The target reached as each wanted endpoint declares (the core endpoint always: it is
    the one probed); a declared host mismatch is a name the target's certificate lacks."""
    assert options.target is not None
    base = Endpoint(
        CORE.name,
        options.target,
        root_ca=options.tls_ca,
        client_cert=options.tls_cert,
        client_key=options.tls_key,
    )
    endpoints = {CORE.name: base}
    for spec in _wanted_endpoints(wanted):
        if spec.launched_only:
            continue
        endpoints[spec.name] = base.but(
            name=spec.name,
            target_name=WRONG_HOST if spec.host is HostCheck.MISMATCHED else None,
            max_msg_mb_size=options.max_msg_mb_size if spec.limited else None,
        )
    return endpoints


def _profiles(
    options: RunOptions, not_applicable: dict[str, str]
) -> tuple[tuple[str, ...], set[str]]:
    """(profiles reported on, profiles that need a server)."""
    requested = options.profiles_to_run()
    if options.profiles or options.requirements:
        # Named (or holding a named requirement): one that cannot run here is a mistake. The
        # resnet profile of a requirement is decided by the probe in start(), like the default.
        refused = [p for p in requested if p in not_applicable]
        if refused:
            p = refused[0]
            named = [r for r in options.requirements if BY_ID[r].profile == p]
            given = f"--requirement {named[0]}: profile {p}" if named else f"--profile {p}"
            raise OptionsError(f"{given} cannot run here: {not_applicable[p]}")
    return tuple(requested), {p for p in requested if p not in not_applicable}


def _wait_all(
    configs: dict[str, _Config],
    processes: dict[str, ServerProcess],
    deadline: float,
    say: Callable[[str], None],
) -> dict[str, LaunchError]:
    """Wait for every server; {server: why} for those that exited before they were ready while
    the core server did start (the server rejects a configuration some profile needs).
    LaunchError (the harness cannot run) if the core server fails or a server never answers."""

    def wait(name: str) -> None:
        config = configs[name]
        # A TLS server that answers in plaintext is listening: its TLS checks fail (exit 1).
        probe = or_listening(config.probe)
        assert config.probe_endpoint is not None, f"server {name}: no endpoint to probe"
        began = time.monotonic()
        wait_ready(config.probe_endpoint, deadline, processes.get(name), probe)
        say(f"server '{name}' ready ({time.monotonic() - began:.1f} s)")

    with ThreadPoolExecutor(max_workers=max(1, len(configs))) as pool:
        futures = {name: pool.submit(wait, name) for name in configs}
        errors = {name: f.exception() for name, f in futures.items()}
    exited: dict[str, LaunchError] = {}
    for name, error in errors.items():
        if error is None:
            continue
        process = processes.get(name)
        gone = process is not None and process.exit_status() is not None
        if name == CORE.server_name or not gone or not isinstance(error, LaunchError):
            raise error
        exited[name] = error
    return exited


_SCRATCH_ROOM = len("/ms12345678/s.sock")  # what make_scratch and short_unix_address add


def make_scratch() -> str:
    """A private folder under $TMPDIR (tempfile's choice), or under /tmp where that path is
    too long for the unix sockets inside it (they max out at 107 bytes)."""
    root = tempfile.gettempdir()
    if len(root.encode()) + _SCRATCH_ROOM > 100:
        root = "/tmp"
    return tempfile.mkdtemp(prefix="ms", dir=root)


def _quiet(line: str) -> None:
    pass


def start(
    options: RunOptions,
    seed: int | None,
    scratch: str,
    say: Callable[[str], None] = _quiet,
) -> tuple[RunContext, Launched]:
    """Make the TLS files, start (or probe) the servers; LaunchError/OptionsError if not.
    ``scratch`` (from make_scratch) is removed by Launched.stop, or here on failure. ``say``
    gets a line as servers start and become ready (a slow start is not a hang)."""
    launched = Launched(scratch)
    server_failures: dict[str, str] = {}
    try:
        if options.target is not None:  # said before the TLS files take their time
            fail_if_refused(Endpoint(CORE.name, options.target))
        os.mkdir(os.path.join(scratch, "tls"), 0o700)
        files = make_tls_files(os.path.join(scratch, "tls"))
        not_applicable = applicability(options)
        requested, wanted = _profiles(options, not_applicable)
        deadline = time.monotonic() + options.ready_timeout_s
        pids: dict[str, int] = {}
        grace_s = None
        supervised: dict[str, Supervised] = {}
        hello = None
        if options.server_cmd is not None:
            configs = _server_cmd_configs(wanted, options, files, scratch)
            processes = {
                name: ServerProcess(name, options.server_cmd, config.settings, scratch)
                for name, config in configs.items()
            }
            launched.processes.extend(processes.values())
            say(
                f"starting {len(processes)} server{'s' if len(processes) != 1 else ''} "
                f"({', '.join(processes)}); ready timeout {options.ready_timeout_s:g} s"
            )
            exited = _wait_all(configs, processes, deadline, say)
            for name, error in exited.items():
                for needing in sorted(wanted):
                    specs = PROFILES_BY_NAME[needing].endpoints
                    if any(spec.server_name == name for spec in specs):
                        server_failures[needing] = str(error)
            endpoints = {
                n: e for s, c in configs.items() if s not in exited for n, e in c.endpoints.items()
            }
            pids = {
                n: processes[s].pid
                for s, c in configs.items()
                if s not in exited
                for n in c.endpoints
            }
            if "grace" in placeholders_in(options.server_cmd):
                grace_s = DEFAULT_GRACE_S
            supervised = _supervised(configs, processes, exited)
            launched.supervisor = Supervisor(scratch, supervised, options.ready_timeout_s)
            for name in supervised:
                launched.supervisor.note_pid(name, processes[name].pid)
        elif options.client_cmd is not None:
            # The client's servers are the suites' own recording servers (conformance.drive's
            # ClientSession): nothing to start here but a first testee, for its features.
            endpoints = {}
            hello = _testee_hello(options.client_cmd, deadline)
            not_applicable.update(_testee_features(hello, wanted))
        else:
            endpoints = _target_endpoints(wanted, options)
            say(f"probing the target {options.target}; ready timeout {options.ready_timeout_s:g} s")
            wait_ready(endpoints[CORE.name], deadline, probe=or_listening(predict_once))
        for name in sorted(wanted):
            # A profile the run did not name may be ruled out by its declared probe.
            profile = PROFILES_BY_NAME[name]
            if profile.applies_if is None or options.profiles or not profile.endpoints:
                continue
            endpoint = endpoints.get(profile.endpoints[0].name)
            skip = options.profiles or name in server_failures
            if skip or endpoint is None:
                continue
            why = _resolve(profile.applies_if)(endpoint, max(5.0, deadline - time.monotonic()))
            if why is not None:
                not_applicable[name] = profile.not_applicable_prefix + why
        context = RunContext(
            mode=options.mode,
            subject=options.subject,
            requested=requested,
            explicit=bool(options.profiles),
            not_applicable=not_applicable,
            endpoints=endpoints,
            tls_files=files,
            seed=seed,
            thorough=options.thorough,
            scratch=scratch,
            server_failures=server_failures,
            server_commands={p.settings.address: p.command_line for p in launched.processes},
            pids=pids,
            grace_s=grace_s,
            supervised=supervised,
            ready_timeout_s=options.ready_timeout_s,
            testee_hello=None if hello is None else hello.to_dict(),
        )
    except BaseException:
        launched.stop()
        raise
    return context, launched


def _supervised(
    configs: dict[str, _Config], processes: dict[str, ServerProcess], exited: dict[str, Any]
) -> dict[str, Supervised]:
    """The launched servers the harness keeps serving: those reachable by a well-formed call
    that answer the health echo now (conformance.drive's supervisor says why only those)."""
    found = {}
    for name, config in configs.items():
        health = config.probe_endpoint
        if name in exited or health is None or config.probe is not predict_once:
            continue
        if health_problem(health) is None:
            found[name] = Supervised(
                name, processes[name].command_line, health, tuple(config.endpoints)
            )
    return found


def _testee_hello(command: str, deadline: float) -> Hello | None:
    """The hello of a testee started just to read it; None when it gives no valid one."""
    try:
        process = TesteeProcess(command, hello_timeout=max(5.0, deadline - time.monotonic()))
    except TesteeFailure:
        return None
    process.close()
    return process.hello


def _testee_features(hello: Hello | None, wanted: set[str]) -> dict[str, str]:
    """Profile -> why not, for the client profiles none of whose requirements the testee's
    hello allows (each needs a feature it does not declare). A testee that gives no valid hello
    rules nothing out: its checks run, and fail on that."""
    if hello is None:
        return {}
    features = hello.features
    reasons: dict[str, str] = {}
    for name in sorted(wanted):
        needed = [r.feature for r in by_profile(name)]
        if needed and all(f is not None and f not in features for f in needed):
            listed = ", ".join(sorted({str(f) for f in needed}))
            reasons[name] = f"the testee's hello does not declare the feature {listed}"
    return reasons


def _resolve(path: str) -> Callable[[Endpoint, float], str | None]:
    """``module:function`` from a profile declaration, imported only when the probe runs (the
    resnet probe needs Pillow)."""
    module, _, function = path.partition(":")
    found: Callable[[Endpoint, float], str | None] = getattr(
        importlib.import_module(module), function
    )
    return found


__all__ = [
    "Launched",
    "RunContext",
    "ServerExit",
    "applicability",
    "choose_seed",
    "make_scratch",
    "start",
]
