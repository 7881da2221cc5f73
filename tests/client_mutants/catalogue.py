"""Broken clients: name -> what is broken and which client requirements must catch it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ClientMutant:
    name: str
    breaks: str
    trips: tuple[str, ...]  # client requirement IDs that must fail against it
    # Its run mostly waits out one of the harness's deadlines (a client that hangs): run in the
    # background with the others that do (tests/support/ahead.py).
    waits: bool = False


MUTANTS: tuple[ClientMutant, ...] = (
    ClientMutant("banner", "prints a banner on stdout before its hello", ("CL-CORE-HELLO",)),
    ClientMutant("print-on-error", "prints upstream's three lines on stdout for a gRPC error",
                 ("CL-CORE-HELLO", "CL-CORE-RPC-STATUS", "CL-CORE-SERVER-DOWN")),
    ClientMutant("int-as-int32", "sends a Python int as MS_INT32 (wrapping big ones)",
                 ("CL-CORE-REQUEST-PLAIN", "CL-STRICT-PLAIN-MAPPING")),
    ClientMutant("str-as-bytes", "sends a str as MS_BYTES", ("CL-CORE-REQUEST-PLAIN",)),
    ClientMutant("scalar-as-1", "sends 0-d arrays and numpy scalars with dims [1]",
                 ("CL-CORE-REQUEST-ARRAYS", "CL-STRICT-SCALAR-DIMS")),
    ClientMutant("scalar-widened", "sends numpy scalars widened to 64 bits",
                 ("CL-CORE-REQUEST-SCALARS",)),
    ClientMutant("bool-scalar-refused", "refuses a numpy.bool_ scalar, as upstream's client does",
                 ("CL-CORE-REQUEST-SCALARS", "CL-STRICT-SCALAR-DIMS")),
    ClientMutant("byte-order-flipped", "sends numeric data big-endian",
                 ("CL-CORE-REQUEST-ARRAYS",)),
    ClientMutant("instances-reversed", "sends the instances in reverse order",
                 ("CL-CORE-REQUEST-INSTANCES",)),
    ClientMutant("version-dropped", "always sends version 0", ("CL-CORE-REQUEST-SPEC",)),
    ClientMutant("reply-0d-as-1", "returns a dims [] output with shape (1,)",
                 ("CL-CORE-REPLY-ARRAYS",)),
    ClientMutant("bytes-val-first", "keeps only the first of several bytes_val",
                 ("CL-CORE-REPLY-TEXT",)),
    ClientMutant("reply-reordered", "returns the reply's instances in reverse order",
                 ("CL-CORE-REPLY-ORDER", "CL-CORE-REPLY-MIXED")),
    ClientMutant("request-error-text-lost", "returns a fixed text for a request-level error",
                 ("CL-CORE-REPLY-REQUEST-ERROR",)),
    ClientMutant("mixed-collapsed", "turns a mixed reply into its first error",
                 ("CL-CORE-REPLY-MIXED",)),
    ClientMutant("malformed-accepted", "ignores a reply's error entries when their count is wrong",
                 ("CL-CORE-REPLY-MALFORMED",)),
    ClientMutant("one-error-per-instance", "reads one failed entry beside N instances as N "
                 "failed instances", ("CL-CORE-REPLY-REQUEST-ERROR",)),
    ClientMutant("lone-ok-entry-accepted", "takes one code-0 entry beside 0 or 2 instances as "
                 "no errors", ("CL-CORE-REPLY-MALFORMED",)),
    ClientMutant("status-swallowed", "returns an empty result for a failed RPC",
                 ("CL-CORE-RPC-STATUS", "CL-CORE-SERVER-DOWN")),
    ClientMutant("hang-on-dead-server", "waits for a server to come up, without a deadline",
                 ("CL-CORE-SERVER-DOWN",), waits=True),
    ClientMutant("async-swallows-failure", "infer_async's result() returns [] on a failed RPC",
                 ("CL-CORE-ASYNC",)),
    ClientMutant("deadline-ignored", "declares deadlines but ignores the call's timeout",
                 ("CL-CORE-DEADLINE",), waits=True),
    ClientMutant("uds-refused", "declares uds but refuses unix: addresses", ("CL-UDS-CALL",)),
    ClientMutant("tls-ignores-ca", "ignores the CA it is given (uses the system roots)",
                 ("CL-TLS-CUSTOM-CA",)),
    ClientMutant("tls-trusts-any-ca", "trusts every certificate in the CA file's folder",
                 ("CL-TLS-REFUSE-OTHER-CA",)),
    ClientMutant("tls-no-host-check", "accepts whatever host name the server's certificate has",
                 ("CL-TLS-REFUSE-WRONG-HOST",)),
    ClientMutant("tls-roots-env-ignored", "ignores GRPC_DEFAULT_SSL_ROOTS_FILE_PATH when no CA "
                 "is given (gRPC's bundled roots only)", ("CL-TLS-ROOTS-ENV",)),
    ClientMutant("tls-roots-env-folder", "with no CA given, trusts every certificate in the "
                 "folder of GRPC_DEFAULT_SSL_ROOTS_FILE_PATH's file", ("CL-TLS-ROOTS-ENV",)),
    ClientMutant("tls-direct-issuer-only", "accepts only a server certificate signed directly "
                 "by the CA it is given: a leaf under an intermediate is refused",
                 ("CL-TLS-CUSTOM-CA", "CL-MTLS-CLIENT-CERT")),
    ClientMutant("mtls-no-client-cert", "never presents the client certificate",
                 ("CL-MTLS-CLIENT-CERT",)),
    ClientMutant("grpc-default-limits", "keeps gRPC's 4 MiB message limits",
                 ("CL-LIMITS-LARGE-REQUEST", "CL-LIMITS-LARGE-REPLY")),
    ClientMutant("crash-on-exhausted", "exits when the server answers RESOURCE_EXHAUSTED",
                 ("CL-LIMITS-RESOURCE-EXHAUSTED",)),
    ClientMutant("error-raised", "raises a failed RPC from infer() instead of returning it",
                 ("CL-STRICT-RPC-ERROR-TEXT",)),
)  # fmt: skip

BY_NAME: dict[str, ClientMutant] = {m.name: m for m in MUTANTS}
