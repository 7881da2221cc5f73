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

from conformance import requirements
from conformance.marks import requirement_of
from conformance.requirements import BY_ID, PROFILE_NAMES, REQUIREMENTS
from protos import labels

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parent.parent


def test_ids_are_stable_words_with_their_profile_prefix() -> None:
    prefixes = {"core": ("CORE-", "CLIENT-")}
    for req in REQUIREMENTS:
        assert re.fullmatch(r"[A-Z0-9]+(-[A-Z0-9]+)+", req.id), req.id
        assert req.id.startswith(prefixes.get(req.profile, (req.profile.upper() + "-",))), req.id
        assert req.level == ("SHOULD" if req.profile == "strict" else "MUST"), req.id
        assert req.sentence.endswith(".") and req.source, req.id
    assert len(BY_ID) == len(REQUIREMENTS)
    assert set(PROFILE_NAMES) == {"core", "uds", "tls", "mtls", "limits", "strict", "resnet"}
    assert {r.profile for r in REQUIREMENTS} == set(PROFILE_NAMES)


def test_every_suite_test_names_one_requirement_and_every_requirement_is_tested(
    pytester: pytest.Pytester,
) -> None:
    items, _ = pytester.inline_genitems("-p", "no:cacheprovider", "--pyargs", "conformance.suites")
    tested = Counter(requirement_of(item) for item in items)
    assert None not in tested, "a suite test without @requirement"
    assert set(tested) == set(BY_ID), f"untested: {sorted(set(BY_ID) - set(tested))}"


def test_docs_requirements_is_current() -> None:
    path = ROOT / "docs" / "requirements.md"
    assert path.read_text(encoding="utf-8") == requirements.render_markdown(), (
        "docs/requirements.md is stale: run "
        "`python -m conformance --write-requirements docs/requirements.md`"
    )
    for req in REQUIREMENTS:
        assert f"| `{req.id}` | {req.level} |" in path.read_text(encoding="utf-8")


def test_harness_checks_labels_against_the_one_shipped_list() -> None:
    from conformance.resnet import imagenet_labels

    # One copy in the source tree (protos/data), read by both the server and the harness.
    copies = [
        path.relative_to(ROOT).as_posix()
        for package in ("protos", "reference_server", "reference_client", "conformance")
        for path in (ROOT / package).rglob("imagenet_labels*")
    ]
    assert copies == ["protos/data/imagenet_labels.txt"]
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
    assert block.group(1) == done.stdout, (
        "docs/cli.md is stale: paste `COLUMNS=100 conformance --help` between its help markers"
    )
