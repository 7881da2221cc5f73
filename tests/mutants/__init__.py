"""Deliberately broken servers: the reference server with one rule broken each.

tests/test_mutants.py runs the conformance harness against every mutant and requires it to
report as failed every requirement the mutant's entry names, and to pass the unbroken controls.

* ``catalogue``  the table: name -> description, profiles, requirement IDs it must trip
* ``seams``      how a mutant breaks the reference server: by replacing steps of the
                 server's Behaviour (reference_server.behaviour), its documented seam
* ``controls``   the unbroken servers (``none``, ``tls-front``)
* the mutants, a few lines each, in the modules the profiles' declarations name
  (``Profile.mutants`` in conformance/catalogue/profiles/: ``core_echo``, ``transport``, ...)
* ``tls_front``  a small Python TLS terminator in front of the server, for TLS mutants
* ``serve.py``   the script the harness launches: ``serve.py --mutant NAME <server args>``
"""
