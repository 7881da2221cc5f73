"""One harness run: which profiles run, against which endpoints, with which servers started.

``start`` turns checked RunOptions into a RunContext (plain data the suites read through the
fixtures, shipped to xdist workers as a dict) and, in ``--server-cmd`` mode, the servers it
launched: one per configuration the requested profiles need, started together and each probed
until it answers.
"""

from __future__ import annotations

import os
import random
import shutil
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from conformance.endpoints import Endpoint
from conformance.launch import (
    LaunchError,
    ServerProcess,
    ServerSettings,
    free_tcp_address,
    placeholders_in,
    short_unix_address,
)
from conformance.options import DEFAULT_LIMITS_MB, OptionsError, RunOptions
from conformance.probe import Probe, handshake_once, or_plaintext, predict_once, wait_ready
from conformance.requirements import BY_ID
from conformance.tlsmaterial import WRONG_HOST, TLSMaterial, make_material

# Profiles whose tests talk to the "core" endpoint.
_CORE_ENDPOINT_PROFILES = ("core", "strict", "resnet")


@dataclass
class RunContext:
    """Everything the suites need to know about this run (JSON-able via to_dict)."""

    mode: str  # "target" or "server-cmd"
    subject: str  # the target address or the server command
    requested: tuple[str, ...]  # the profiles this run reports on
    explicit: bool  # the profiles were named with --profile
    not_applicable: dict[str, str]  # profile -> why it cannot run here
    endpoints: dict[str, Endpoint]
    material: TLSMaterial | None
    seed: int | None  # None: derandomized gating run
    thorough: bool
    scratch: str  # the run's private folder: TLS files, logs, unix sockets, hypothesis's files

    def runs(self, profile: str) -> bool:
        return profile in self.requested and profile not in self.not_applicable

    def endpoint(self, name: str) -> Endpoint | None:
        return self.endpoints.get(name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "subject": self.subject,
            "requested": list(self.requested),
            "explicit": self.explicit,
            "not_applicable": dict(self.not_applicable),
            "endpoints": {name: e.to_dict() for name, e in self.endpoints.items()},
            "material": None if self.material is None else self.material.to_dict(),
            "seed": self.seed,
            "thorough": self.thorough,
            "scratch": self.scratch,
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
            material=None if data["material"] is None else TLSMaterial.from_dict(data["material"]),
            seed=data["seed"],
            thorough=data["thorough"],
            scratch=data["scratch"],
        )


@dataclass
class Launched:
    """What a run started and must clean up: server processes and one scratch folder."""

    scratch: str
    processes: list[ServerProcess] = field(default_factory=list)

    def exited(self) -> list[dict[str, Any]]:
        """The servers that are no longer running (they should run until stop())."""
        return [
            {"server": process.label, "status": status, "output_tail": process.tail()}
            for process in self.processes
            if (status := process.exit_status()) is not None
        ]

    def stop(self) -> None:
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

    settings: ServerSettings | None  # None: nothing to start (target mode)
    endpoints: dict[str, Endpoint]
    probe_endpoint: Endpoint
    probe: Probe = predict_once


def _server_cmd_applicability(command: str) -> dict[str, str]:
    present = placeholders_in(command)

    def missing(*names: str) -> str | None:
        absent = [f"{{{n}}}" for n in names if n not in present]
        return f"the server command has no {' '.join(absent)} placeholder" if absent else None

    reasons = {
        "tls": missing("certificate", "private_key"),
        "mtls": missing("certificate", "private_key", "custom_ca", "verify_client"),
        "limits": missing("max_msg_mb_size"),
    }
    return {profile: why for profile, why in reasons.items() if why}


def _target_applicability(options: RunOptions) -> dict[str, str]:
    assert options.target is not None
    reasons: dict[str, str] = {}
    if not options.target.startswith("unix:"):
        reasons["uds"] = "the target is not a unix:PATH address"
    if options.tls_ca is None:
        reasons["tls"] = "no --tls-ca: the target is not known to use TLS"
        reasons["mtls"] = "no --tls-ca/--tls-cert/--tls-key given"
    elif options.tls_cert is not None:
        reasons["tls"] = "--tls-cert given: the target is certified in profile mtls"
    else:
        reasons["mtls"] = "no --tls-cert/--tls-key given"
    if options.max_msg_mb_size is None:
        reasons["limits"] = "no --max-msg-mb-size: the target's limit is unknown"
    return reasons


def _server_cmd_configs(
    wanted: set[str], options: RunOptions, material: TLSMaterial, scratch: str
) -> dict[str, _Config]:
    configs: dict[str, _Config] = {}
    tls = {"certificate": material.server_cert, "private_key": material.server_key}

    def tcp(name: str, settings: dict[str, Any], **endpoint: Any) -> _Config:
        address = free_tcp_address()
        return _Config(
            ServerSettings(address=address, **settings),
            {name: Endpoint(name, address, **endpoint)},
            Endpoint(name, address, **endpoint),
        )

    if wanted & set(_CORE_ENDPOINT_PROFILES):
        configs["core"] = tcp("core", {})
    if "uds" in wanted:
        address = short_unix_address(scratch)
        endpoint = Endpoint("uds", address)
        configs["uds"] = _Config(ServerSettings(address=address), {"uds": endpoint}, endpoint)
    if "tls" in wanted:
        configs["tls"] = tcp("tls", tls, root_ca=material.ca)
        expired = tcp(
            "tls-expired",
            {
                "certificate": material.expired_server_cert,
                "private_key": material.expired_server_key,
            },
            root_ca=material.ca,
        )
        expired.probe = handshake_once  # no client accepts its certificate
        configs["tls-expired"] = expired
        wrong = tcp(
            "tls-wrong-host",
            {"certificate": material.wrong_host_cert, "private_key": material.wrong_host_key},
            root_ca=material.ca,
        )
        # The same server reached under the name its certificate holds: how "still serves" and
        # readiness are checked.
        reachable = wrong.probe_endpoint.but(name="tls-wrong-host-ok", target_name=WRONG_HOST)
        wrong.endpoints[reachable.name] = reachable
        wrong.probe_endpoint = reachable
        configs["tls-wrong-host"] = wrong
    if "mtls" in wanted:
        configs["mtls"] = tcp(
            "mtls",
            {**tls, "custom_ca": material.ca, "verify_client": True},
            root_ca=material.ca,
            client_cert=material.client_cert,
            client_key=material.client_key,
        )
    if "limits" in wanted:
        limit = options.max_msg_mb_size or DEFAULT_LIMITS_MB
        configs["limits"] = tcp("limits", {"max_msg_mb_size": limit}, max_msg_mb_size=limit)
    return configs


def _target_endpoints(wanted: set[str], options: RunOptions) -> dict[str, Endpoint]:
    assert options.target is not None
    base = Endpoint(
        "core",
        options.target,
        root_ca=options.tls_ca,
        client_cert=options.tls_cert,
        client_key=options.tls_key,
    )
    endpoints = {"core": base}
    if "uds" in wanted:
        endpoints["uds"] = base.but(name="uds")
    if "tls" in wanted:
        endpoints["tls"] = base.but(name="tls")
        endpoints["tls-wrong-host"] = base.but(name="tls-wrong-host", target_name=WRONG_HOST)
        endpoints["tls-wrong-host-ok"] = base.but(name="tls-wrong-host-ok")
    if "mtls" in wanted:
        endpoints["mtls"] = base.but(name="mtls")
    if "limits" in wanted:
        endpoints["limits"] = base.but(name="limits", max_msg_mb_size=options.max_msg_mb_size)
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
    configs: dict[str, _Config], processes: dict[str, ServerProcess], deadline: float
) -> None:
    def wait(name: str) -> None:
        config = configs[name]
        # A TLS server that answers in plaintext is listening: its TLS checks fail (exit 1).
        probe = or_plaintext(config.probe)
        wait_ready(config.probe_endpoint, deadline, processes.get(name), probe)

    with ThreadPoolExecutor(max_workers=max(1, len(configs))) as pool:
        futures = [pool.submit(wait, name) for name in configs]
        errors = [f.exception() for f in futures]
    for error in errors:
        if error is not None:
            raise error


def make_scratch() -> str:
    """A private folder with a short path (unix socket paths max out at 107 bytes)."""
    return tempfile.mkdtemp(prefix="ms", dir="/tmp")


def start(
    options: RunOptions,
    seed: int | None,
    scratch: str,
    resnet_probe: Callable[[Endpoint, float], str | None] | None = None,
) -> tuple[RunContext, Launched]:
    """Make the TLS material, start (or probe) the servers; LaunchError/OptionsError if not.
    ``scratch`` (from make_scratch) is removed by Launched.stop, or here on failure."""
    launched = Launched(scratch)
    try:
        os.mkdir(os.path.join(scratch, "tls"), 0o700)
        material = make_material(os.path.join(scratch, "tls"))
        if options.server_cmd is not None:
            not_applicable = _server_cmd_applicability(options.server_cmd)
        else:
            not_applicable = _target_applicability(options)
        requested, wanted = _profiles(options, not_applicable)
        deadline = time.monotonic() + options.ready_timeout_s
        if options.server_cmd is not None:
            configs = _server_cmd_configs(wanted, options, material, scratch)
            processes = {
                name: ServerProcess(name, options.server_cmd, config.settings, scratch)
                for name, config in configs.items()
                if config.settings is not None
            }
            launched.processes.extend(processes.values())
            _wait_all(configs, processes, deadline)
            endpoints = {n: e for c in configs.values() for n, e in c.endpoints.items()}
        else:
            endpoints = _target_endpoints(wanted, options)
            wait_ready(endpoints["core"], deadline, probe=or_plaintext(predict_once))
        if "resnet" in wanted and not options.profiles and "core" in endpoints:
            probe = resnet_probe or _default_resnet_probe
            why = probe(endpoints["core"], max(5.0, deadline - time.monotonic()))
            if why is not None:
                not_applicable["resnet"] = f"the server does not deploy resnet50: a probe {why}"
        context = RunContext(
            mode=options.mode,
            subject=options.subject,
            requested=requested,
            explicit=bool(options.profiles),
            not_applicable=not_applicable,
            endpoints=endpoints,
            material=material,
            seed=seed,
            thorough=options.thorough,
            scratch=scratch,
        )
    except BaseException:
        launched.stop()
        raise
    return context, launched


def _default_resnet_probe(endpoint: Endpoint, timeout_s: float) -> str | None:
    from conformance.resnet import why_not_deployed  # Pillow: only when resnet may run

    return why_not_deployed(endpoint, timeout_s)


__all__ = [
    "LaunchError",
    "Launched",
    "OptionsError",
    "RunContext",
    "choose_seed",
    "make_scratch",
    "start",
]
