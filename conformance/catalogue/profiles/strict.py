"""Profile strict: SHOULD-level: upstream's error texts and codes, and upstream defects not copied.

Its declaration: needs, endpoints, suites, mutants and requirements (see
conformance.catalogue.declare)."""

from __future__ import annotations

from conformance.catalogue.declare import ALWAYS, Profile, Requirement, server_requirement
from conformance.catalogue.profiles.core import CORE

_r = server_requirement  # called once per row below

REQUIREMENTS: tuple[Requirement, ...] = (
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
)  # fmt: skip

PROFILE = Profile(
    "strict",
    "SHOULD-level: upstream's error texts and codes, and upstream defects not copied",
    {"server-cmd": ALWAYS, "target": ALWAYS},
    (CORE,),
    ("test_strict",),
    note="over the core channel",
    requirements=REQUIREMENTS,
    mutants=("strict",),
    order=60,
)

__all__ = ["PROFILE"]
