"""The requirement catalogue: stable IDs, one requirement per suite test, every requirement
checked by some test, docs/requirements.md generated from it and current."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from conformance import catalogue
from conformance.catalogue import BY_ID, CLIENT_PROFILE_NAMES, PROFILE_NAMES, PROFILES, REQUIREMENTS
from conformance.verify.marks import requirement_of
from reference_server.servables.resnet50 import labels

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parent.parent


# SHOULD-level requirements outside profile strict: what an operator expects, not the protocol.
SHOULD_ELSEWHERE = {"ROBUSTNESS-SIGTERM-IN-FLIGHT", "ROBUSTNESS-UPSTREAM-DEFECTS"}


def test_ids_are_stable_words_with_their_profile_prefix() -> None:
    prefixes = {"core": ("CORE-", "CLIENT-")}
    for req in REQUIREMENTS:
        assert re.fullmatch(r"[A-Z0-9]+(-[A-Z0-9]+)+", req.id), req.id
        # client-core's IDs are CL-CORE-...: CLIENT- was taken by core's reference-client checks.
        own = req.profile.upper().replace("CLIENT-", "CL-") + "-"
        assert req.id.startswith(prefixes.get(req.profile, (own,))), req.id
        strict = req.profile in ("strict", "client-strict")
        should = strict or req.id in SHOULD_ELSEWHERE
        assert req.level == ("SHOULD" if should else "MUST"), req.id
        assert req.sentence.endswith(".") and req.source, req.id
    assert len(BY_ID) == len(REQUIREMENTS)
    assert {r.profile for r in REQUIREMENTS} == set(PROFILE_NAMES)


# Published profiles never disappear (a new one needs no edit here: its declaration is enough).
PUBLISHED = {"core", "uds", "tls", "mtls", "limits", "strict", "resnet", "robustness"} | {
    f"client-{p}" for p in ("core", "uds", "tls", "mtls", "limits", "strict")
}


def test_profiles_are_servers_or_clients_by_their_declaration() -> None:
    assert set(PROFILE_NAMES) >= PUBLISHED
    for profile in PROFILES:
        # A client profile runs only with --client-cmd, and only it; its name says so.
        assert profile.is_client == profile.name.startswith("client-"), profile.name
        assert profile.is_client == (set(profile.drives) == {"client-cmd"}), profile.name
        assert profile.suites and profile.requirements, profile.name
    assert len(CLIENT_PROFILE_NAMES) >= 6 and "robustness" in PROFILE_NAMES


def test_every_suite_and_mutant_module_is_declared_by_a_profile() -> None:
    # A suite or mutant module no declaration names would silently never run.
    suites = {p.stem for p in (ROOT / "conformance" / "suites").glob("test_*.py")}
    assert suites == {suite for profile in PROFILES for suite in profile.suites}
    registering = {
        p.stem
        for p in (ROOT / "tests" / "mutants").glob("*.py")
        if re.search(r"^@mutant\(", p.read_text(encoding="utf-8"), re.MULTILINE)
    }
    assert registering - {"controls"} == {m for profile in PROFILES for m in profile.mutants}


def test_a_run_collects_only_the_requested_profiles_suites(tmp_path: Path) -> None:
    # The declaration says what runs: the other suites are not even imported (no deselection).
    server = f"{sys.executable} -m reference_server --address {{address}} --device cpu"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--pyargs",
         "conformance.suites", "--conformance-server-cmd", server, "--conformance-profile",
         "uds", "--collect-only", "-q"],
        capture_output=True, text=True, cwd=tmp_path, timeout=120,
    )  # fmt: skip
    collected = [line for line in done.stdout.splitlines() if "::" in line]
    assert collected, done.stdout + done.stderr
    assert {line.split("::")[0] for line in collected} == {"test_uds.py"}, collected
    assert len(collected) == len(catalogue.by_profile("uds"))
    assert "deselected" not in done.stdout, done.stdout[-2000:]


def test_every_suite_test_names_one_requirement_and_every_requirement_is_tested(
    pytester: pytest.Pytester,
) -> None:
    items, _ = pytester.inline_genitems("-p", "no:cacheprovider", "--pyargs", "conformance.suites")
    tested = Counter(requirement_of(item) for item in items)
    assert None not in tested, "a suite test without @requirement"
    assert set(tested) == set(BY_ID), f"untested: {sorted(set(BY_ID) - set(tested))}"


def test_docs_requirements_is_current() -> None:
    path = ROOT / "docs" / "requirements.md"
    assert path.read_text(encoding="utf-8") == catalogue.render_markdown(), (
        "docs/requirements.md is stale: run `python scripts/regenerate_docs.py`"
    )
    for req in REQUIREMENTS:
        assert f"| `{req.id}` | {req.level} |" in path.read_text(encoding="utf-8")


def test_harness_checks_labels_against_its_own_copy_of_the_servers_list() -> None:
    from conformance.verify.resnet import imagenet_labels

    # Two copies in the source tree, the same bytes: the server answers from its own, the
    # harness (which never imports the server) checks against its own.
    copies = sorted(
        path.relative_to(ROOT).as_posix()
        for package in ("protos", "reference_server", "reference_client", "conformance")
        for path in (ROOT / package).rglob("imagenet_labels*")
    )
    assert copies == [
        "conformance/data/imagenet_labels.txt",
        "reference_server/servables/resnet50/imagenet_labels.txt",
    ]
    assert (ROOT / copies[0]).read_bytes() == (ROOT / copies[1]).read_bytes()
    assert imagenet_labels() == frozenset(labels.imagenet_labels())
    assert len(imagenet_labels()) == 999 and "tabby, tabby cat" in imagenet_labels()


def test_cli_doc_shows_the_current_help() -> None:
    doc = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- help:begin -->\n```text\n(.*?)```\n<!-- help:end -->", doc, re.DOTALL)
    assert block is not None
    env = dict(os.environ, COLUMNS="100")
    done = subprocess.run(
        [sys.executable, "-m", "conformance", "--help"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert _help_words(block.group(1)) == _help_words(done.stdout), (
        "docs/cli.md is stale: run `python scripts/regenerate_docs.py`"
    )


def _help_words(text: str) -> str:
    """argparse's help as words: Python 3.13 writes ``-n, --workers N`` where 3.11 and 3.12
    write ``-n N, --workers N``, which also moves the description column and its wrapping."""
    once = re.sub(r"(?<![\w-])(-\w) (\S+), (--[\w-]+) \2\b", r"\1, \3 \2", text)
    return " ".join(once.split())


def test_help_words_take_either_argparse_layout() -> None:
    old = "  -n N, --workers N     run checks\n                        in parallel\n"
    new = "  -n, --workers N       run checks in\n                        parallel\n"
    assert _help_words(old) == _help_words(new) == "-n, --workers N run checks in parallel"
    assert _help_words("  -n N, --workers N  x") != _help_words("  -n, --jobs N  x")


def test_every_requirement_source_is_an_anchor_of_the_protocol_document() -> None:
    text = (ROOT / "docs" / "protocol.md").read_text(encoding="utf-8")
    anchors = set(re.findall(r'<a id="([a-z0-9-]+)"></a>', text))
    assert len(anchors) >= 20, "docs/protocol.md lost its anchors"
    # Client requirements cite the testee protocol's page instead.
    client_text = (ROOT / "docs" / "client-conformance.md").read_text(encoding="utf-8")
    client_anchors = set(re.findall(r'<a id="([a-z0-9-]+)"></a>', client_text))
    assert len(client_anchors) >= 8, "docs/client-conformance.md lost its anchors"
    for req in REQUIREMENTS:
        own = client_anchors if req.document == "client-conformance.md" else anchors
        assert req.anchors and set(req.anchors) <= own, (req.id, req.source)
    assert {r.document for r in REQUIREMENTS} == {"protocol.md", "client-conformance.md"}
    # Citations in the harness's own text point at anchors that exist, and at no file the
    # project lacks.
    cited: set[str] = set()
    for path in (ROOT / "conformance").rglob("*.py"):
        source = path.read_text(encoding="utf-8")
        cited |= set(re.findall(r"protocol\.md#([a-z0-9-]+)", source))
        assert "conformance-kit" not in source, path
    assert cited and cited <= anchors, sorted(cited - anchors)


def test_each_profile_declares_the_suites_that_test_it(pytester: pytest.Pytester) -> None:
    items, _ = pytester.inline_genitems("-p", "no:cacheprovider", "--pyargs", "conformance.suites")
    declared = {suite: p.name for p in PROFILES for suite in p.suites}
    for item in items:
        module = item.module.__name__.rsplit(".", 1)[-1]  # type: ignore[attr-defined]
        requirement_id = requirement_of(item)
        assert requirement_id is not None
        assert declared.get(module) == BY_ID[requirement_id].profile, (item.nodeid, module)
