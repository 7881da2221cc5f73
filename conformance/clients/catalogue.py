"""The client requirements: IDs, levels, profiles, and the testee features each one needs.

IDs start with ``CL-`` then the profile's word (``CL-CORE-...``, ``CL-TLS-...``). Not
``CLIENT-``: the server catalogue already publishes ``CLIENT-NUMERIC-MAPPING`` and three more
(core checks of a *server* made through the reference client), and a published ID keeps its
meaning, so client requirements take a prefix of their own that no server ID starts with.

A requirement that ``needs`` a feature is "not applicable" (never "passed") when the testee's
hello does not list that feature. Pure data: importing this module costs nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Level = Literal["MUST", "SHOULD"]
SOURCE = "docs/client-conformance.md"  # requirement sources are anchors (<a id>) there


@dataclass(frozen=True)
class ClientProfile:
    name: str
    summary: str
    needs: str  # what the harness needs to run it, in words


@dataclass(frozen=True)
class ClientRequirement:
    id: str
    level: Level
    profile: str
    sentence: str
    source: str
    feature: str | None = None  # the hello feature it needs; None: every client


CLIENT_PROFILES: tuple[ClientProfile, ...] = (
    ClientProfile(
        "client-core",
        "a client over plaintext TCP: request encoding, reply decoding, failures, async, deadlines",
        "--client-cmd: always (async and deadline checks only for testees that declare them)",
    ),
    ClientProfile(
        "client-uds",
        "the client over a unix domain socket",
        "--client-cmd: a testee that declares the `uds` feature",
    ),
    ClientProfile(
        "client-tls",
        "one-way TLS with a custom CA; certificates from another CA or for another host refused",
        "--client-cmd: a testee that declares the `tls` feature",
    ),
    ClientProfile(
        "client-mtls",
        "mutual TLS: the client presents the certificate it is given",
        "--client-cmd: a testee that declares the `mtls` feature",
    ),
    ClientProfile(
        "client-limits",
        "messages above gRPC's 4 MiB default both ways; a server's RESOURCE_EXHAUSTED",
        "--client-cmd: always",
    ),
    ClientProfile(
        "client-strict",
        "SHOULD-level: upstream's Python value mappings and error texts",
        "--client-cmd: always",
    ),
)

CLIENT_PROFILE_NAMES: tuple[str, ...] = tuple(p.name for p in CLIENT_PROFILES)


def _r(
    id_: str, level: Level, profile: str, anchors: str, sentence: str, feature: str | None = None
) -> ClientRequirement:
    return ClientRequirement(id_, level, profile, sentence, anchors, feature)


CLIENT_REQUIREMENTS: tuple[ClientRequirement, ...] = (
    # --- client-core: the testee itself --------------------------------------------------------
    _r("CL-CORE-HELLO", "MUST", "client-core", "testee",
       "the testee's first stdout line is a hello naming the client and listing its features, "
       "and its stdout carries nothing but protocol lines, also when a call fails."),
    # --- client-core: requests -----------------------------------------------------------------
    _r("CL-CORE-REQUEST-ARRAYS", "MUST", "client-core", "values",
       "an n-d array of any of the 12 numeric dtypes (ranks 0 to 6, empty ones included, any "
       "bit pattern) is sent with that dtype, dims equal to its shape ([] for 0-d) and its "
       "little-endian C-order bytes, bit-exact."),
    _r("CL-CORE-REQUEST-SCALARS", "MUST", "client-core", "values",
       "a typed scalar is sent with its own dtype and its one element bit-exact, dims [] or [1]."),
    _r("CL-CORE-REQUEST-PLAIN", "MUST", "client-core", "values",
       "the language's int, float and bool are sent as one element (dims [] or [1]) of an "
       "integer, floating or MS_BOOL dtype holding exactly the value; text as MS_STRING and bytes "
       "as MS_BYTES, each one bytes_val element (UTF-8 for text)."),
    _r("CL-CORE-REQUEST-INSTANCES", "MUST", "client-core", "values",
       "the instances are sent in the order given, each with exactly the input names given "
       "(Unicode names included) and each name with its own value."),
    _r("CL-CORE-REQUEST-SPEC", "MUST", "client-core", "values",
       "servable name, method name and version are sent as given (version 0 as 0)."),
    # --- client-core: replies ------------------------------------------------------------------
    _r("CL-CORE-REPLY-ARRAYS", "MUST", "client-core", "results",
       "a numeric output of any dtype and dims becomes an array of that dtype with the wire dims "
       "as its shape (dims [] a 0-d array, empty ones included), bit-exact."),
    _r("CL-CORE-REPLY-TEXT", "MUST", "client-core", "results",
       "an MS_STRING output becomes the UTF-8 text, an MS_BYTES output the raw bytes, and one "
       "with several bytes_val elements a list of them in order."),
    _r("CL-CORE-REPLY-ORDER", "MUST", "client-core", "results",
       "a reply of N instances becomes N results in the reply's order, each with exactly its own "
       "outputs."),
    _r("CL-CORE-REPLY-REQUEST-ERROR", "MUST", "client-core", "results",
       "a reply of no instances and one error with a non-zero code becomes the request-level "
       "error result carrying the error's text."),
    _r("CL-CORE-REPLY-MIXED", "MUST", "client-core", "results",
       "a reply of N instances and N errors becomes N results in order: an error result with the "
       "text where the code is non-zero, the outputs where it is 0."),
    _r("CL-CORE-REPLY-MALFORMED", "MUST", "client-core", "results",
       "a reply whose error count is neither 0, 1 nor the instance count is refused: an error "
       "result or a raise, never instance results."),
    _r("CL-CORE-RPC-STATUS", "MUST", "client-core", "served",
       "a call the server ends with a non-OK gRPC status becomes an error result or a raise, and "
       "the testee keeps serving calls."),
    _r("CL-CORE-SERVER-DOWN", "MUST", "client-core", "served",
       "a call to an address where nothing listens becomes an error result or a raise within "
       "5 s, and the testee keeps serving calls."),
    _r("CL-CORE-ASYNC", "MUST", "client-core", "calls, served",
       "an asynchronous call gives the result a synchronous one gives, and a failed one an "
       "error result or a raise.", "async"),
    _r("CL-CORE-DEADLINE", "MUST", "client-core", "served",
       "a call with a timeout to a server that stalls ends with an error result or a raise "
       "within the timeout plus 3 s.", "deadline"),
    # --- transports --------------------------------------------------------------------------
    _r("CL-UDS-CALL", "MUST", "client-uds", "served",
       "over a `unix:PATH` address the request arrives intact and the reply is decoded.", "uds"),
    _r("CL-TLS-CUSTOM-CA", "MUST", "client-tls", "served",
       "over one-way TLS, trusting the CA file given, the call is made and its reply decoded.",
       "tls"),
    _r("CL-TLS-REFUSE-OTHER-CA", "MUST", "client-tls", "served",
       "a server certificate from a CA the client was not told to trust is refused: an error "
       "result or a raise, and no request reaches the server.", "tls"),
    _r("CL-TLS-REFUSE-WRONG-HOST", "MUST", "client-tls", "served",
       "a server certificate from the trusted CA for another host name is refused: an error "
       "result or a raise, and no request reaches the server.", "tls"),
    _r("CL-MTLS-CLIENT-CERT", "MUST", "client-mtls", "served",
       "with a client certificate and key given, the client presents them to a server that "
       "requires one, and the call is made.", "mtls"),
    # --- limits ------------------------------------------------------------------------------
    _r("CL-LIMITS-LARGE-REQUEST", "MUST", "client-limits", "served",
       "a request of about 6 MiB (over gRPC's 4 MiB default) is sent intact."),
    _r("CL-LIMITS-LARGE-REPLY", "MUST", "client-limits", "served",
       "a reply of about 6 MiB (over gRPC's 4 MiB default receive limit) is decoded intact."),
    _r("CL-LIMITS-RESOURCE-EXHAUSTED", "MUST", "client-limits", "served",
       "a request over the server's message limit (RESOURCE_EXHAUSTED) becomes an error result "
       "or a raise, and the testee keeps serving calls."),
    # --- strict (SHOULD) ---------------------------------------------------------------------
    _r("CL-STRICT-PLAIN-MAPPING", "SHOULD", "client-strict", "upstream-mapping",
       "plain values are sent as upstream's Python client sends them, all with dims [1]: int as "
       "MS_INT64 (MS_UINT64 from 2^63 to 2^64-1), float as MS_FLOAT64, bool as MS_BOOL, text as "
       "MS_STRING, bytes as MS_BYTES."),
    _r("CL-STRICT-SCALAR-DIMS", "SHOULD", "client-strict", "upstream-mapping",
       "a typed scalar is sent with dims [] (upstream: a numpy scalar)."),
    _r("CL-STRICT-RPC-ERROR-TEXT", "SHOULD", "client-strict", "upstream-mapping",
       "a synchronous call that fails in gRPC returns (not raises) the error result "
       "`Grpc Error, (14, 'unavailable'), ...` for a dead server, as upstream's client does."),
)  # fmt: skip

CLIENT_BY_ID: dict[str, ClientRequirement] = {r.id: r for r in CLIENT_REQUIREMENTS}


def client_by_profile(profile: str) -> list[ClientRequirement]:
    return [r for r in CLIENT_REQUIREMENTS if r.profile == profile]


def _check() -> None:
    seen: set[str] = set()
    for req in CLIENT_REQUIREMENTS:
        if req.id in seen or not req.id.startswith("CL-"):
            raise AssertionError(f"{req.id}: duplicate, or not a CL- ID")
        if req.profile not in CLIENT_PROFILE_NAMES:
            raise AssertionError(f"{req.id}: unknown profile {req.profile}")
        if (req.level == "SHOULD") != (req.profile == "client-strict"):
            raise AssertionError(f"{req.id}: SHOULD is exactly the client-strict profile")
        seen.add(req.id)


_check()
