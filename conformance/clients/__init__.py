"""Certifying *clients* of the protocol through a testee program (docs/client-conformance.md).

The harness plays the server: it starts the client's testee (an adapter program in the client's
own language), tells it over JSON lines what to call, runs its own recording gRPC server, and
judges both what the client put on the wire and what it made of the reply.

Modules:

* ``protos.forms`` (shared with the testees): the value forms <-> numpy / protobuf;
* ``testee``: the JSON-lines driver (spawn, hello, calls, timeouts, a fresh testee after a death);
* ``recorder``: the recording server (TCP, ``unix:``, one-way and mutual TLS, a message limit,
  scripted replies and statuses, a stalled reply, a port with nothing listening);
* ``catalogue``: the client requirements (``CL-*``) and profiles (``client-*``);
* ``checks``: one check per requirement, property-based where values are involved;
* ``session``: what the checks share in one run (the testee, the servers, the TLS material);
* ``runner``: runs the checks without pytest (the harness runs them through its suites).
"""
