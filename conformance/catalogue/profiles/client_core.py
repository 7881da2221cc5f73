"""Profile client-core: a client over plaintext TCP: request encoding, reply decoding, failed
calls, async calls, deadlines.

Its declaration: needs, endpoints, suites, mutants and requirements (see
conformance.catalogue.declare)."""

from __future__ import annotations

from conformance.catalogue.declare import CLIENT, Profile, Requirement, client_requirement

_c = client_requirement  # called once per row below

REQUIREMENTS: tuple[Requirement, ...] = (
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
)  # fmt: skip

PROFILE = Profile(
    "client-core",
    "a client over plaintext TCP: request encoding, reply decoding, failed calls, async "
    "calls, deadlines",
    CLIENT,
    (),
    ("test_clients_core",),
    note="async and deadline checks only for a testee that declares them",
    requirements=REQUIREMENTS,
    order=110,
)

__all__ = ["PROFILE"]
