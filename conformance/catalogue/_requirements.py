"""The requirement catalogue: every check the suite makes, with a stable ID.

An ID never changes meaning once published; a retired check keeps its ID out of use. Each suite
test names exactly one ID (``@requirement("CORE-...")``), so outcomes map to IDs in every report.
MUST-level requirements are the protocol's observable contract (reply layer, non-zero codes,
which instance failed, bit-exact data) and, in profile ``robustness``, surviving hostile
traffic; SHOULD-level ones (profile ``strict``) are upstream's exact texts and codes and the
defects upstream has that a server should not copy, and (``robustness``) finishing calls in
flight at SIGTERM.

Pure data and string rendering only: importing this module costs nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import conformance.catalogue.robustness as bound
from conformance.catalogue._profiles import CLIENT_PROFILE_NAMES, PROFILE_NAMES, PROFILES

Level = Literal["MUST", "SHOULD"]

CAPACITY_CALLS = 10_001  # past upstream's default capacity (10,000 requests in flight)
CAPACITY_WINDOW = 8  # calls in flight at once while sending them


@dataclass(frozen=True)
class Requirement:
    id: str
    level: Level
    profile: str
    sentence: str
    source: str  # anchors (<a id="...">) that specify it, comma-separated, of docs/protocol.md
    # (server profiles) or docs/client-conformance.md (client profiles: see ``document``)
    feature: str | None = None  # client profiles: the testee's hello must declare it, else N/A

    @property
    def document(self) -> str:
        """The doc (relative to docs/) whose anchors ``source`` names."""
        return CLIENT_DOC_NAME if self.profile in CLIENT_PROFILE_NAMES else "protocol.md"

    @property
    def anchors(self) -> list[str]:
        return [a.strip() for a in self.source.split(",")]


PROTOCOL_DOC = "docs/protocol.md"
CLIENT_DOC_NAME = "client-conformance.md"
CLIENT_DOC = f"docs/{CLIENT_DOC_NAME}"


def _r(id_: str, level: Level, profile: str, source: str, sentence: str) -> Requirement:
    return Requirement(id=id_, level=level, profile=profile, sentence=sentence, source=source)


def _c(
    id_: str, level: Level, profile: str, source: str, sentence: str, feature: str | None = None
) -> Requirement:
    """A client requirement (``--client-cmd``): ``CL-`` IDs, not ``CLIENT-``, because the four
    ``CLIENT-*`` IDs of profile core (a server checked through the reference client) were
    published first and an ID keeps its meaning; sources are anchors of docs/client-conformance.md.
    """
    return Requirement(id_, level, profile, sentence, source, feature)


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
    # --- uds ------------------------------------------------------------------------------------
    _r("UDS-ECHO-ROUNDTRIP", "MUST", "uds", "transport",
       "over unix:PATH, echo returns numeric, string and bytes tensors bit-exactly."),
    _r("UDS-ERRORS", "MUST", "uds", "transport",
       "over unix:PATH, request-level errors (code 2) and per-instance errors (a text containing "
       "`fail`'s error) come back as over TCP."),
    _r("UDS-STALE-SOCKET", "MUST", "uds", "transport",
       "a server started on unix:PATH where a socket file of a server that is gone remains "
       "replaces it and serves there (checked with --server-cmd only)."),
    _r("UDS-CONCURRENT-NO-MIXUP", "MUST", "uds", "transport",
       "over unix:PATH, concurrent requests are each answered with their own data."),
    # --- tls ------------------------------------------------------------------------------------
    _r("TLS-ACCEPT-TRUSTED-CA", "MUST", "tls", "transport",
       "with one-way TLS, a client that has no certificate and trusts only the root CA of the "
       "server's chain is served (with --server-cmd the chain is root, intermediate, leaf: the "
       "certificate file given holds the leaf and the intermediate, and the server presents "
       "both)."),
    _r("TLS-REFUSE-UNTRUSTED-CA", "MUST", "tls", "transport",
       "the server presents the certificate chain it was given, which a correct client checks "
       "against the CA that signed it: a client trusting only another CA refuses the handshake "
       "(UNAVAILABLE; the refusal is the client's), and the server keeps serving after such "
       "refused handshakes."),
    _r("TLS-REFUSE-WRONG-HOST", "MUST", "tls", "transport",
       "the server presents the certificate it was given even when that certificate names another "
       "host: a correct client checking the host name refuses the handshake (UNAVAILABLE; the "
       "refusal is the client's), and the server keeps serving clients that use the name its "
       "certificate holds."),
    _r("TLS-REFUSE-EXPIRED-SERVER-CERT", "MUST", "tls", "transport",
       "the server presents the certificate it was given even when it has expired: a correct "
       "client refuses the handshake (UNAVAILABLE; the refusal is the client's), and the server "
       "keeps completing handshakes afterwards."),
    _r("TLS-REFUSE-PLAINTEXT-CLIENT", "MUST", "tls", "transport",
       "a plaintext client of a TLS server is refused (UNAVAILABLE) and the server still serves."),
    # --- mtls -----------------------------------------------------------------------------------
    _r("MTLS-ACCEPT-TRUSTED-CLIENT", "MUST", "mtls", "transport",
       "with verify_client, a client certificate issued by custom_ca is served, to a client that "
       "trusts only the root CA of the server's chain (with --server-cmd the server presents "
       "the intermediate its certificate file holds too)."),
    _r("MTLS-REFUSE-NO-CLIENT-CERT", "MUST", "mtls", "transport",
       "with verify_client, a client without a certificate is refused (UNAVAILABLE) and the "
       "server still serves."),
    _r("MTLS-REFUSE-FOREIGN-CLIENT-CERT", "MUST", "mtls", "transport",
       "with verify_client, a client certificate from another CA is refused (UNAVAILABLE) and the "
       "server still serves."),
    _r("MTLS-REFUSE-EXPIRED-CLIENT-CERT", "MUST", "mtls", "transport",
       "with verify_client, an expired client certificate is refused (UNAVAILABLE) and the server "
       "still serves."),
    # --- limits ---------------------------------------------------------------------------------
    _r("LIMITS-UNDER-LIMIT-OK", "MUST", "limits", "transport",
       "a request just under max_msg_mb_size MiB is served."),
    _r("LIMITS-REQUEST-OVER-LIMIT", "MUST", "limits", "transport",
       "a request over max_msg_mb_size MiB gets gRPC RESOURCE_EXHAUSTED and the server still "
       "serves."),
    _r("LIMITS-REPLY-OVER-LIMIT", "MUST", "limits", "transport",
       "a reply over max_msg_mb_size MiB is not sent: the client gets RESOURCE_EXHAUSTED and the "
       "server still serves."),
    # --- strict (SHOULD) ------------------------------------------------------------------------
    _r("STRICT-TEXT-UNKNOWN-SERVABLE", "SHOULD", "strict", "error-texts",
       "an unknown servable is answered with code 2 and upstream's text `Request servable(NAME) "
       "method(METHOD) , servable is not available`."),
    _r("STRICT-TEXT-UNKNOWN-VERSION", "SHOULD", "strict", "error-texts",
       "an unknown version N is answered with code 2 and upstream's text naming servable, method "
       "and version(N)."),
    _r("STRICT-TEXT-UNKNOWN-METHOD", "SHOULD", "strict", "error-texts",
       "an unknown method is answered with code 2 and upstream's text `..., method is not "
       "available`."),
    _r("STRICT-TEXT-MISSING-INPUT", "SHOULD", "strict", "error-texts",
       "a missing input is answered with code 2 and `Cannot find input NAME in instance input , "
       "servable S, method M`, NAME being the input missing: the method's first or a later one."),
    _r("STRICT-TEXT-FIRST-PROBLEM", "SHOULD", "strict", "step-inputs, error-texts",
       "a request with several bad instances is refused with the text of the first problem in "
       "request order (a missing input before a malformed one, and the reverse)."),
    _r("STRICT-TEXT-MALFORMED-STRING-COUNT", "SHOULD", "strict", "error-texts",
       "a bytes_val count other than 1 is answered with code 2 and upstream's `batch size can "
       "only be 1` text."),
    _r("STRICT-TEXT-MALFORMED-STRING-DIMS", "SHOULD", "strict", "error-texts",
       "string/bytes dims other than [] or [1] are answered with code 2 and upstream's `shape can "
       "only be (1,) or empty` text."),
    _r("STRICT-TEXT-MALFORMED-SHAPE", "SHOULD", "strict", "error-texts",
       "an invalid shape is answered with code 2 and upstream's `input  shape [..] invalid` text."),
    _r("STRICT-TEXT-MALFORMED-DTYPE", "SHOULD", "strict", "error-texts",
       "an invalid dtype is answered with code 2 and upstream's `input data type proto::MS_UNKNOWN "
       "invalid` text."),
    _r("STRICT-TEXT-MALFORMED-DATA-SIZE", "SHOULD", "strict", "error-texts",
       "a wrong data length is answered with code 2 and upstream's `input data size N invalid` "
       "text."),
    _r("STRICT-TEXT-ADD-COMMON-SIZE", "SHOULD", "strict", "error-texts",
       "add_common's wrong byte size (bytes, not elements: a 4-element input of another item "
       "size is a wrong size) fails the instance with code 2 and `Given model input I size A not "
       "match the size 16 defined in model`, beside a good instance or alone; also when the "
       "dtype is wrong too (the size is checked first); a text input has size 0."),
    _r("STRICT-TEXT-ADD-COMMON-DTYPE", "SHOULD", "strict", "error-texts",
       "add_common's wrong dtype fails the instance with code 2 and `Given model input I data "
       "type kMSI_... not match the data type kMSI_Float32 defined in model`, beside a good "
       "instance or alone."),
    _r("STRICT-FAIL-TEXT", "SHOULD", "strict", "error-texts, kit-servables",
       "a `fail` instance fails with code 3 and upstream's stage text, `Call Function "
       "'conformance.FUNCTION' Failed, method: 'fail', stage index(begin with 1): 1, error msg: "
       "ERROR`, with the given error verbatim, beside a succeeding instance or alone (where the "
       "reply collapses to that one error)."),
    _r("STRICT-TEXT-TRUNCATION", "SHOULD", "strict", "truncation",
       "an error text (the whole text sent, counted in UTF-8 bytes, not characters) longer "
       "than 384 bytes is cut to its first 192 bytes, `...`, and its last 192 bytes, even where "
       "that splits a character; one of 384 bytes is kept whole."),
    _r("STRICT-ZERO-INSTANCES", "SHOULD", "strict", "step-instances, departures",
       "a request with zero instances is answered promptly with a request-level code 2 error "
       "(upstream never answers it)."),
    _r("STRICT-COLLAPSE-IDENTICAL-FAILURES", "SHOULD", "strict", "replies",
       "when every instance fails with the same code and text the reply is that one error (the "
       "code and text a mixed reply gives each such instance) and no instances."),
    _r("STRICT-DISTINCT-FAILURES-PER-INSTANCE", "SHOULD", "strict", "replies",
       "when every instance fails but the errors differ, the reply has one error entry per "
       "instance in request order."),
    _r("STRICT-NON-UTF8-STRING", "SHOULD", "strict", "step-inputs, departures",
       "an MS_STRING input that is not UTF-8 is rejected with code 2 (request-level or for that "
       "instance) and the server keeps serving (upstream's worker crashes)."),
    _r("STRICT-EMPTY-ELEMENT-LIMIT", "SHOULD", "strict", "step-inputs, departures",
       "an empty tensor whose non-zero dims multiply past 2^60 - 1 elements is refused with "
       "code 2 (request-level); one at 2^60 - 1 is served (upstream accepts any)."),
    _r("STRICT-HUGE-ELEMENT-COUNT", "SHOULD", "strict", "step-inputs, departures",
       "a numeric tensor whose dims multiply past 2^64 bytes, to a count that wraps to the data "
       "length sent ([2^32, 2^32] float32 or [2^61, 1, 2] float64 with no data, [2^62 + 1, 4] "
       "int8 with 4 bytes), is refused with code 2 (request-level); upstream counts a tensor of "
       "2^32 elements or more as empty, and its worker dies."),
    # --- resnet ---------------------------------------------------------------------------------
    _r("RESNET-LABEL-IN-IMAGENET", "MUST", "resnet", "kit-servables, kit-resnet50",
       "classify_top1 answers a decodable PNG or JPEG with an MS_STRING label that is one of the "
       "1000 ImageNet-1k label texts."),
    _r("RESNET-SAME-IMAGE-SAME-LABEL", "MUST", "resnet", "kit-servables, kit-resnet50",
       "the same image twice in one request gets the same label twice."),
    _r("RESNET-BROKEN-IMAGE-ALONE", "MUST", "resnet", "kit-servables, kit-resnet50",
       "an undecodable image fails its own instance only, in each of classify_top1, "
       "classify_top1_v1 and classify_top5; the other instances get their outputs."),
    _r("RESNET-TOP1-V1-SAME-LABEL", "MUST", "resnet", "kit-resnet50",
       "classify_top1_v1 answers each decodable image with the same MS_STRING label as "
       "classify_top1."),
    _r("RESNET-TOP5-OUTPUTS", "MUST", "resnet", "kit-resnet50",
       "classify_top5 answers a decodable image with `label`, one MS_STRING value made of exactly "
       "five ImageNet-1k label texts joined by ';', and `score`, an MS_FLOAT32 tensor with dims "
       "[5] of finite values."),
    _r("RESNET-TOP5-ORDER", "MUST", "resnet", "kit-resnet50",
       "classify_top5's scores are in descending order and its first label is classify_top1's "
       "label for the same image (when several of the five share the best score, classify_top1's "
       "label is one of theirs)."),
    _r("RESNET-TOP5-SAME-IMAGE", "MUST", "resnet", "kit-resnet50",
       "the same image twice in one classify_top5 request gets the same five labels and the same "
       "scores (within 1e-4 relative) twice."),
    # === clients (--client-cmd): what a client does, judged through its testee ==================

    # --- client-core: the testee itself --------------------------------------------------------
    _c("CL-CORE-HELLO", "MUST", "client-core", "testee",
       "the testee's first stdout line is a hello naming the client and listing its features, "
       "and its stdout carries nothing but protocol lines, also when a call fails."),
    # --- client-core: requests -----------------------------------------------------------------
    _c("CL-CORE-REQUEST-ARRAYS", "MUST", "client-core", "values",
       "an n-d array of any of the 12 numeric dtypes (ranks 0 to 6, empty ones included, any "
       "bit pattern) is sent with that dtype, dims equal to its shape ([] for 0-d) and its "
       "little-endian C-order bytes, bit-exact."),
    _c("CL-CORE-REQUEST-SCALARS", "MUST", "client-core", "values",
       "a typed scalar is sent with its own dtype and its one element bit-exact, dims [] or [1]."),
    _c("CL-CORE-REQUEST-PLAIN", "MUST", "client-core", "values",
       "the language's int, float and bool are sent as one element (dims [] or [1]) of an "
       "integer, floating or MS_BOOL dtype holding exactly the value; text as MS_STRING and bytes "
       "as MS_BYTES, each one bytes_val element (UTF-8 for text)."),
    _c("CL-CORE-REQUEST-INSTANCES", "MUST", "client-core", "values",
       "the instances are sent in the order given, each with exactly the input names given "
       "(Unicode names included) and each name with its own value."),
    _c("CL-CORE-REQUEST-SPEC", "MUST", "client-core", "values",
       "servable name, method name and version are sent as given (version 0 as 0)."),
    # --- client-core: replies ------------------------------------------------------------------
    _c("CL-CORE-REPLY-ARRAYS", "MUST", "client-core", "results",
       "a numeric output of any dtype and dims becomes an array of that dtype with the wire dims "
       "as its shape (dims [] a 0-d array, empty ones included), bit-exact."),
    _c("CL-CORE-REPLY-TEXT", "MUST", "client-core", "results",
       "an MS_STRING output becomes the UTF-8 text, an MS_BYTES output the raw bytes, and one "
       "with several bytes_val elements a list of them in order."),
    _c("CL-CORE-REPLY-ORDER", "MUST", "client-core", "results",
       "a reply of N instances becomes N results in the reply's order, each with exactly its own "
       "outputs."),
    _c("CL-CORE-REPLY-REQUEST-ERROR", "MUST", "client-core", "results",
       "a reply with exactly one error entry, its code non-zero, becomes the request-level "
       "error result carrying the error's text, whatever its instance count (0 as servers "
       "send it, or more)."),
    _c("CL-CORE-REPLY-MIXED", "MUST", "client-core", "results",
       "a reply of N instances and N errors becomes N results in order: an error result with the "
       "text where the code is non-zero, the outputs where it is 0."),
    _c("CL-CORE-REPLY-MALFORMED", "MUST", "client-core", "results",
       "a reply whose error entries are neither none, one with a non-zero code, nor one per "
       "instance (for example one entry with code 0 beside 0 or 2 instances) is refused: an "
       "error result or a raise, never instance results."),
    _c("CL-CORE-RPC-STATUS", "MUST", "client-core", "served",
       "a call the server ends with a non-OK gRPC status becomes an error result or a raise, and "
       "the testee keeps serving calls."),
    _c("CL-CORE-SERVER-DOWN", "MUST", "client-core", "served",
       "a call to an address where nothing listens becomes an error result or a raise within "
       "5 s, and the testee keeps serving calls."),
    _c("CL-CORE-ASYNC", "MUST", "client-core", "calls, served",
       "an asynchronous call gives the result a synchronous one gives, and a failed one an "
       "error result or a raise.", "async"),
    _c("CL-CORE-DEADLINE", "MUST", "client-core", "served",
       "a call with a timeout to a server that stalls ends with an error result or a raise "
       "within the timeout plus 3 s.", "deadline"),
    # --- transports --------------------------------------------------------------------------
    _c("CL-UDS-CALL", "MUST", "client-uds", "served",
       "over a `unix:PATH` address the request arrives intact and the reply is decoded.", "uds"),
    _c("CL-TLS-CUSTOM-CA", "MUST", "client-tls", "served",
       "over one-way TLS, trusting the CA file given (a root CA; the server presents a leaf "
       "issued by an intermediate CA, and the intermediate), the call is made and its reply "
       "decoded.",
       "tls"),
    _c("CL-TLS-REFUSE-OTHER-CA", "MUST", "client-tls", "served",
       "a server certificate from a CA the client was not told to trust is refused: an error "
       "result or a raise, and no request reaches the server.", "tls"),
    _c("CL-TLS-REFUSE-WRONG-HOST", "MUST", "client-tls", "served",
       "a server certificate from the trusted CA for another host name is refused: an error "
       "result or a raise, and no request reaches the server.", "tls"),
    _c("CL-TLS-ROOTS-ENV", "MUST", "client-tls", "roots-env",
       "a one-way TLS call that names no CA trusts the root certificates in the file "
       "GRPC_DEFAULT_SSL_ROOTS_FILE_PATH names (as gRPC's C core does): the call is made, and a "
       "certificate from another CA is still refused.", "tls-roots-env"),
    _c("CL-MTLS-CLIENT-CERT", "MUST", "client-mtls", "served",
       "with a client certificate and key given, the client presents them to a server that "
       "requires one (and presents a leaf and an intermediate CA under the root given), and "
       "the call is made.", "mtls"),
    # --- limits ------------------------------------------------------------------------------
    _c("CL-LIMITS-LARGE-REQUEST", "MUST", "client-limits", "served",
       "a request of about 6 MiB (over gRPC's 4 MiB default) is sent intact."),
    _c("CL-LIMITS-LARGE-REPLY", "MUST", "client-limits", "served",
       "a reply of about 6 MiB (over gRPC's 4 MiB default receive limit) is decoded intact."),
    _c("CL-LIMITS-RESOURCE-EXHAUSTED", "MUST", "client-limits", "served",
       "a request over the server's message limit (RESOURCE_EXHAUSTED) becomes an error result "
       "or a raise, and the testee keeps serving calls."),
    # --- strict (SHOULD) ---------------------------------------------------------------------
    _c("CL-STRICT-PLAIN-MAPPING", "SHOULD", "client-strict", "upstream-mapping",
       "plain values are sent as upstream's Python client sends them, all with dims [1]: int as "
       "MS_INT64 (MS_UINT64 from 2^63 to 2^64-1), float as MS_FLOAT64, bool as MS_BOOL, text as "
       "MS_STRING, bytes as MS_BYTES."),
    _c("CL-STRICT-SCALAR-DIMS", "SHOULD", "client-strict", "upstream-mapping",
       "a typed scalar is sent with dims [] (upstream: a numpy scalar)."),
    _c("CL-STRICT-RPC-ERROR-TEXT", "SHOULD", "client-strict", "upstream-mapping",
       "a synchronous call that fails in gRPC returns (not raises) the error result "
       "`Grpc Error, (14, 'unavailable'), ...` for a dead server, as upstream's client does."),
    # --- robustness ---------------------------------------------------------------------------
    _r("ROBUSTNESS-HOSTILE-REQUESTS", "MUST", "robustness", "hostile-traffic",
       "every well-formed PredictRequest built to hurt (dtype codes in and out of the enum; dims "
       "negative, or up to 32 of them; data lengths that lie; bytes_val counts of 0 and "
       "thousands; shm_data and output_buffers set; thousands of instances; odd names and "
       f"versions) is answered within {bound.ANSWER_S:g} s with a PredictReply or a gRPC "
       "status, and a well-formed call is answered after it (with --server-cmd, the process "
       "still runs); requests that meet one of upstream's documented defects are checked by "
       "ROBUSTNESS-UPSTREAM-DEFECTS instead."),
    _r("ROBUSTNESS-UPSTREAM-DEFECTS", "SHOULD", "robustness", "hostile-traffic, departures",
       "every hostile request that meets one of upstream's documented defects (zero instances; "
       f"a tensor of more than 32 dims, up to {bound.MANY_DIMS:,}; a dim above 2**31-1, or "
       "2**32 elements or more, an empty tensor's included; a non-UTF-8 MS_STRING) is answered "
       f"within {bound.ANSWER_S:g} s with a PredictReply or a gRPC status, and a well-formed "
       "call is answered after it (with --server-cmd, the process still runs)."),
    _r("ROBUSTNESS-NOT-PROTOBUF", "MUST", "robustness", "hostile-traffic",
       "every body that is not a PredictRequest (random bytes, truncated or mis-typed fields, "
       f"no message at all) is answered within {bound.ANSWER_S:g} s with a gRPC status or a "
       "PredictReply, and a well-formed call is answered after it (with --server-cmd, the "
       "process still runs)."),
    _r("ROBUSTNESS-STALLED-CLIENTS", "MUST", "robustness", "hostile-traffic",
       f"while {bound.STALLED_CLIENTS} calls have sent their headers and no message, well-formed "
       f"calls from another client are answered, each within {bound.LIVENESS_S:g} s (with "
       "--server-cmd, the process still runs)."),
    _r("ROBUSTNESS-FLOOD", "MUST", "robustness", "hostile-traffic",
       f"while {bound.FLOOD_CLIENTS} clients send hostile requests and bodies back to back, "
       f"well-formed calls from another client are answered, each within {bound.LIVENESS_S:g} s "
       "(with --server-cmd, the process still runs)."),
    _r("ROBUSTNESS-MEMORY-BOUNDED", "MUST", "robustness", "hostile-traffic",
       "with --server-cmd: the launched process tree's resident memory (VmRSS from /proc, "
       f"summed) grows by less than {bound.MEMORY_GROWTH_MIB} MiB across "
       f"{bound.MEMORY_CALLS:,} hostile requests and bodies (after {bound.MEMORY_WARMUP_CALLS} "
       "to warm up), and it answers a well-formed echo right before the first reading and right "
       "after the last (a figure counts only for a server that serves)."),
    _r("ROBUSTNESS-SIGTERM-IN-FLIGHT", "SHOULD", "robustness", "hostile-traffic",
       "with --server-cmd and {grace}: a server that gets SIGTERM with "
       f"{bound.SIGTERM_CALLS} calls in flight, {bound.SIGTERM_CALL_MIB} MiB echoes on open "
       f"connections (half sent their headers {bound.SIGTERM_HEADERS_S:g} s before the signal "
       f"and their messages with it; the other half's whole calls started "
       f"{bound.SIGTERM_AFTER_S:g} s before it), answers every one of them OK and exits with "
       f"status 0 within the grace + {bound.SIGTERM_SLACK_S:g} s."),
)  # fmt: skip

BY_ID: dict[str, Requirement] = {r.id: r for r in REQUIREMENTS}


def by_profile(profile: str) -> list[Requirement]:
    return [r for r in REQUIREMENTS if r.profile == profile]


def unknown_ids(ids: Iterable[str]) -> list[str]:
    return [i for i in ids if i not in BY_ID]


def _check_catalogue() -> None:
    # Guards the catalogue's own shape at import: IDs unique, profiles known, IDs well-formed.
    seen: set[str] = set()
    for req in REQUIREMENTS:
        if req.id in seen:
            raise AssertionError(f"duplicate requirement ID {req.id}")
        if req.profile not in PROFILE_NAMES:
            raise AssertionError(f"{req.id}: unknown profile {req.profile}")
        if not req.id.replace("-", "").isalnum() or req.id.upper() != req.id:
            raise AssertionError(f"{req.id}: IDs are upper-case words joined by '-'")
        if (req.profile in CLIENT_PROFILE_NAMES) != req.id.startswith("CL-"):
            raise AssertionError(f"{req.id}: CL- IDs are exactly the client profiles' ones")
        seen.add(req.id)


_check_catalogue()


def render_markdown() -> str:
    """docs/requirements.md: the catalogue as a document (generated; do not edit by hand)."""
    must = sum(1 for r in REQUIREMENTS if r.level == "MUST")
    lines = [
        "# Conformance requirements",
        "",
        "<!-- Generated by `python -m conformance --write-requirements docs/requirements.md`;",
        "     do not edit by hand: edit conformance/catalogue/_requirements.py. -->",
        "",
        f"{len(REQUIREMENTS)} requirements ({must} MUST, {len(REQUIREMENTS) - must} SHOULD) in "
        f"{len(PROFILES)} profiles. Each suite test checks exactly one of them; every report "
        "lists each ID with its outcome. IDs are stable: a published ID never changes meaning.",
        "",
        "MUST: the protocol's observable contract. SHOULD (profile `strict`): upstream's exact "
        "texts and codes, and upstream defects a server should not copy; SHOULD in profile "
        "`robustness`: letting calls in flight finish at SIGTERM, and surviving requests that "
        "meet upstream's documented defects. A MUST check never sends such a request. Sources "
        "are sections "
        "of [protocol.md](protocol.md); `CLIENT-*` check the reference client, a drop-in for "
        "upstream's `mindspore_serving.client`, against the server. How to run the suite: "
        "[certifying.md](certifying.md).",
        "",
        "The `client-*` profiles certify a *client* instead (`--client-cmd`, through its testee "
        "program): their IDs start with `CL-`, their SHOULD profile is `client-strict`, and "
        "their sources are sections of [client-conformance.md](client-conformance.md). A "
        "requirement marked with a feature is not applicable unless the testee's hello "
        "declares that feature.",
        "",
        "## Profiles",
        "",
        "| profile | covers | runs when |",
        "|---|---|---|",
    ]
    lines += [f"| `{p.name}` | {p.summary} | {p.needs_text()} |" for p in PROFILES]
    for profile in PROFILES:
        lines += ["", f"## `{profile.name}`", "", "| ID | level | requirement | source |"]
        lines.append("|---|---|---|---|")
        for req in by_profile(profile.name):
            sentence = req.sentence.replace("|", "\\|")
            if req.feature is not None:
                sentence += f" (feature `{req.feature}`)"
            links = ", ".join(f"[{a}]({req.document}#{a})" for a in req.anchors)
            lines.append(f"| `{req.id}` | {req.level} | {sentence} | {links} |")
    return "\n".join(lines) + "\n"


__all__ = [
    "BY_ID",
    "CAPACITY_CALLS",
    "CAPACITY_WINDOW",
    "CLIENT_DOC",
    "CLIENT_DOC_NAME",
    "PROTOCOL_DOC",
    "REQUIREMENTS",
    "Level",
    "Requirement",
    "by_profile",
    "render_markdown",
    "unknown_ids",
]
