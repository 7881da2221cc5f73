"""Profile core: the protocol's semantics over plaintext TCP, raw and through the reference client.

Its declaration: needs, endpoints, suites, mutants and requirements (see
conformance.catalogue.declare)."""

from __future__ import annotations

from conformance.catalogue.declare import (
    ALWAYS,
    EndpointSpec,
    Profile,
    Requirement,
    server_requirement,
)

CAPACITY_CALLS = 10_001  # past upstream's default capacity (10,000 requests in flight)
CAPACITY_WINDOW = 8  # calls in flight at once while sending them

CORE = EndpointSpec("core", fixture="conformance_server")

_r = server_requirement  # called once per row below

REQUIREMENTS: tuple[Requirement, ...] = (
    # --- core: data mapping through conformance.echo -----------------------------------------
    _r("CORE-ECHO-NUMERIC-ROUNDTRIP", "MUST", "core", "tensors, kit-servables",
       "echo returns every numeric tensor (all 12 numeric dtypes, ranks 0 to 6, any bit pattern) "
       "with the same dtype, the same dims and the same bytes."),
    _r("CORE-ECHO-SPECIAL-VALUES", "MUST", "core", "kit-servables",
       "echo keeps NaN payloads, signed zeros, infinities, subnormals, integer extremes and "
       "uint64 values above 2^63 bit-exact."),
    _r("CORE-ECHO-SCALAR-DIMS", "MUST", "core", "step-inputs",
       "a scalar sent with dims [] or [1] is accepted and its dims are kept as sent."),
    _r("CORE-ECHO-EMPTY-TENSOR", "MUST", "core", "step-inputs",
       "a zero-size tensor whose only 0 is its last dim ([0], [3,0], ...) is accepted and echoed "
       "with its dims."),
    _r("CORE-ECHO-STRING", "MUST", "core", "tensors, kit-servables",
       "an MS_STRING value (any Unicode text, sent with dims [] or [1]) comes back as the same "
       "UTF-8 bytes, dtype MS_STRING, dims [] or [1]."),
    _r("CORE-ECHO-BYTES", "MUST", "core", "tensors, kit-servables",
       "an MS_BYTES value (any bytes, NUL included, sent with dims [] or [1]) comes back "
       "unchanged, dtype MS_BYTES, dims [] or [1]."),
    _r("CORE-ECHO-VERSION-OUTPUT", "MUST", "core", "kit-servables",
       "echo's `version` output is an MS_INT64 tensor with dims [] holding the serving version."),
    _r("CORE-ECHO-MULTI-INSTANCE", "MUST", "core", "one-rpc, replies",
       "a request of several instances, each with its own dtype and shape, is answered with one "
       "reply instance per request instance, in request order."),
    _r("CORE-VERSION-SELECT", "MUST", "core", "step-servable-version",
       "version 0 selects the highest deployed version (2); versions 1 and 2 select themselves; "
       "add is served at version 1 and refused with code 2 at version 2."),
    _r("CORE-SPEC-ECHO", "MUST", "core", "replies",
       "reply.servable_spec is a verbatim copy of request.servable_spec on success, on a "
       "request-level error and on a mixed reply (version 0 stays 0)."),
    _r("CORE-STATUS-OK", "MUST", "core", "replies",
       "application-level errors (request-level and per-instance) travel in error_msg with gRPC "
       "status OK."),
    _r("CORE-EXTRA-INPUT-IGNORED", "MUST", "core", "step-inputs",
       "inputs a method does not declare are ignored, not rejected."),
    # --- core: request-level errors ------------------------------------------------------------
    _r("CORE-UNKNOWN-SERVABLE", "MUST", "core", "step-servable-version",
       "an unknown servable name is a request-level error: 0 instances, 1 error, code 2 "
       "(INVALID_INPUTS)."),
    _r("CORE-UNKNOWN-VERSION", "MUST", "core", "step-servable-version",
       "a version that is not deployed is a request-level error with code 2."),
    _r("CORE-UNKNOWN-METHOD", "MUST", "core", "step-method",
       "an unknown method of a known servable is a request-level error with code 2."),
    _r("CORE-MISSING-INPUT", "MUST", "core", "step-inputs",
       "a declared input missing from any instance rejects the whole request (request-level "
       "error, code 2), whichever input it is (the method's first or a later one) and whichever "
       "instance (the first or a later one)."),
    _r("CORE-MALFORMED-STRING-COUNT", "MUST", "core", "step-inputs",
       "an MS_STRING or MS_BYTES tensor whose bytes_val count is not 1, in any instance, rejects "
       "the whole request (request-level "
       "error, code 2)."),
    _r("CORE-MALFORMED-STRING-DIMS", "MUST", "core", "step-inputs",
       "an MS_STRING or MS_BYTES tensor whose dims are neither [] nor [1], in any instance, "
       "rejects the whole request (request-level "
       "error, code 2)."),
    _r("CORE-MALFORMED-SHAPE", "MUST", "core", "step-inputs",
       "a negative dim, or any dim after a 0, in any instance, rejects the whole request "
       "(request-level error, code 2)."),
    _r("CORE-MALFORMED-DTYPE", "MUST", "core", "step-inputs",
       "dtype MS_UNKNOWN or a code outside the enum, in any instance, rejects the whole request "
       "(request-level error, code 2)."),
    _r("CORE-MALFORMED-DATA-SIZE", "MUST", "core", "step-inputs",
       "numeric data whose length is not element count × item size, in any instance, rejects "
       "the whole request (request-level "
       "error, code 2)."),
    # --- core: per-instance errors and reply shapes --------------------------------------------
    _r("CORE-FAIL-PATTERN", "MUST", "core", "replies, kit-servables",
       "with `fail`, exactly the instances given a non-empty error fail, each with a non-zero "
       "code and a text that contains its error verbatim (also when the reply collapses to one "
       "error); the others carry echo's outputs."),
    _r("CORE-REPLY-ALL-OK", "MUST", "core", "replies",
       "when every instance succeeds the reply has N instances and no error entries."),
    _r("CORE-REPLY-MIXED", "MUST", "core", "replies",
       "when some but not all instances fail the reply has N instances and N error entries in "
       "request order; OK entries have code 0 and empty text, failed ones a non-zero code and a "
       "text containing `fail`'s error."),
    _r("CORE-REPLY-ALL-FAILED", "MUST", "core", "replies",
       "when every instance fails the reply is N non-zero errors with N empty instances or, only "
       "when every instance failed the same way, one non-zero error and no instances whose text "
       "contains the `error` given to `fail`; never a success."),
    _r("CORE-ADD-COMMON-RESULT", "MUST", "core", "kit-servables",
       "add.add_common on two float32 [2,2] inputs returns y = x1 + x2 as float32 [2,2]."),
    _r("CORE-ADD-COMMON-SIZE", "MUST", "core", "step-method-runs, kit-servables",
       "add.add_common fails exactly the instances whose input byte size is not 16 (whatever "
       "its dtype: bytes are counted, not elements; larger as well as smaller; an MS_STRING or "
       "MS_BYTES input has size 0), each with code 2 (also when every instance fails and the "
       "reply collapses to one error); the others are computed."),
    _r("CORE-ADD-COMMON-DTYPE", "MUST", "core", "step-method-runs, kit-servables",
       "add.add_common fails exactly the instances whose 16-byte input is not float32, each "
       "with code 2 (also when every instance fails and the reply collapses to one error); the "
       "others are computed."),
    _r("CORE-ADD-CAST-RESULT", "MUST", "core", "kit-servables",
       "add.add_cast on any two numeric inputs of equal shape returns float32(x1) + float32(x2) "
       "with that shape."),
    _r("CORE-CONCURRENT-NO-MIXUP", "MUST", "core", "replies",
       "many concurrent requests with distinct payloads are each answered with their own data."),
    # --- core: the wide input space, every reply compared in full with the kit's model --------
    _r("CORE-WIDE-TENSORS", "MUST", "core", "tensors, kit-servables",
       "echo returns numeric tensors from empty to several MiB, of every dtype and 0 to 8 dims, "
       "bit-exactly, and the reply is the kit's in every field."),
    _r("CORE-WIDE-TEXTS", "MUST", "core", "tensors, kit-servables",
       "MS_STRING and MS_BYTES values of any Unicode (controls, NUL, combining marks, "
       "right-to-left, 4-byte code points) and lengths around every truncation boundary come "
       "back unchanged through echo and fail; fail's texts of such characters are kept."),
    _r("CORE-WIDE-INSTANCES", "MUST", "core", "replies",
       "requests of 1 to hundreds of instances (echo, fail, add_common) are answered with every "
       "instance, in order, each as the kit says."),
    _r("CORE-WIDE-LOOKUP", "MUST", "core", "step-servable-version, step-method, step-inputs",
       "servable, method and input names are matched exactly (case, surrounding whitespace, "
       "prefixes, suffixes and look-alikes do not match), and versions over the whole uint64 "
       "range (2**32 + 2, 2**63 and above included) select only a deployed version."),
    _r("CORE-CONCURRENT-MIXED", "MUST", "core", "replies",
       "concurrent calls mixing servables, methods, versions, payload sizes (several calls of "
       "tens of KiB to a few MiB in flight at once) and error patterns are each answered with "
       "their own reply, in full."),
    _r("CORE-CAPACITY-RELEASED", "MUST", "core", "step-capacity",
       f"an answered request no longer counts against the capacity: {CAPACITY_CALLS:,} requests "
       f"(upstream's default limit, 10,000, plus one), at most {CAPACITY_WINDOW} in flight, each "
       "a fail request with one instance computed and one failed, are each answered as the kit "
       "says (none refused with code 1)."),
    # --- core: the reference client against the server ----------------------------------------
    _r("CLIENT-NUMERIC-MAPPING", "MUST", "core", "client-mapping",
       "through the reference client, a numpy array or scalar of every mapped dtype comes back "
       "as an equal read-only numpy array of the same dtype and shape (0-d for a scalar)."),
    _r("CLIENT-PYTHON-VALUES", "MUST", "core", "client-mapping",
       "through the reference client, str and bytes come back as str and bytes, and Python "
       "bool/int/float as MS_BOOL/MS_INT64/MS_FLOAT64 arrays of shape (1,)."),
    _r("CLIENT-RESULT-SHAPES", "MUST", "core", "client-mapping",
       "the reference client returns {'error': TEXT} for a request-level error and a list with "
       "one dict per instance, {'error': TEXT} for each failed one, otherwise."),
    _r("CLIENT-INFER-ASYNC", "MUST", "core", "client-mapping",
       "the reference client's infer_async(...).result() equals infer(...)."),
)  # fmt: skip

PROFILE = Profile(
    "core",
    "the protocol's semantics over plaintext TCP, raw and through the reference client",
    {"server-cmd": ALWAYS, "target": ALWAYS},
    (CORE,),
    (
        "test_core_echo",
        "test_core_wide",
        "test_core_requests",
        "test_core_instances",
        "test_core_concurrency",
        "test_client",
    ),
    note="with --target, over the channel the given material opens",
    requirements=REQUIREMENTS,
    mutants=("core_echo", "core_requests", "core_replies", "wide"),
    order=10,
)

__all__ = ["CAPACITY_CALLS", "CAPACITY_WINDOW", "CORE", "PROFILE"]
