"""The fixtures the shipped suite uses (registered only when the plugin is active).

One ``conformance_<name>`` fixture per endpoint whose declaration (conformance.catalogue) names
a fixture, yielding a Target on it; the run itself; the harness's TLS files; and
``conformance_figures``, which records what a test measured. All but the last are
session-scoped: hypothesis forbids function-scoped fixtures under ``@given``, and a channel per
server is all the suite needs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from conformance.catalogue import ENDPOINTS, EndpointSpec
from conformance.drive import ClientSession, RunContext, TLSFiles
from conformance.reporting import PROPERTY_FIGURES
from conformance.verify.hypo import THOROUGH_FACTOR
from conformance.verify.marks import not_applicable
from conformance.verify.wire import Target

CONTEXT = pytest.StashKey[RunContext]()


@pytest.fixture(scope="session")
def conformance_context(pytestconfig: pytest.Config) -> RunContext:
    """The run: mode, requested profiles, endpoints, TLS files, hypothesis seed."""
    return pytestconfig.stash[CONTEXT]


@pytest.fixture(scope="session")
def conformance_tls_files(conformance_context: RunContext) -> TLSFiles:
    """The harness's own certificates (PEM paths)."""
    if conformance_context.tls_files is None:
        not_applicable("no TLS material in this run")
    return conformance_context.tls_files


@pytest.fixture
def conformance_figures(request: pytest.FixtureRequest) -> Callable[..., None]:
    """``conformance_figures(name=number, ...)``: figures this test measured, carried to its
    requirement in the JSON report and the certificate (also from xdist workers)."""

    def note(**figures: float) -> None:
        request.node.user_properties.append((PROPERTY_FIGURES, figures))

    return note


def _target_fixture(spec: EndpointSpec) -> Callable[[RunContext], Iterator[Target]]:
    def fixture(conformance_context: RunContext) -> Iterator[Target]:
        endpoint = conformance_context.endpoint(spec)
        if endpoint is None:
            not_applicable(f"no {spec.name} endpoint in this run")
        with Target(endpoint) as target:
            yield target

    fixture.__doc__ = f"A Target on the {spec.name} endpoint (declared in conformance.catalogue)."
    return fixture


@pytest.fixture(scope="session")
def conformance_client_session(conformance_context: RunContext) -> Iterator[ClientSession]:
    """``--client-cmd``: the client's testee and the recording servers its calls go to."""
    if conformance_context.mode != "client-cmd" or conformance_context.tls_files is None:
        not_applicable("client profiles run with --client-cmd")
    session = ClientSession(
        conformance_context.subject,
        conformance_context.tls_files,
        conformance_context.scratch,
        seed=conformance_context.seed,
        examples=THOROUGH_FACTOR if conformance_context.thorough else 1,
    )
    try:
        yield session
    finally:
        session.close()


for _spec in ENDPOINTS:
    if _spec.fixture is not None:
        globals()[_spec.fixture] = pytest.fixture(scope="session", name=_spec.fixture)(
            _target_fixture(_spec)
        )


__all__ = [
    "CONTEXT",
    "conformance_client_session",
    "conformance_context",
    "conformance_figures",
    "conformance_tls_files",
]
