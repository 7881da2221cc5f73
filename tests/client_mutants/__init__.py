"""Deliberately broken clients: the reference client's testee with one rule broken each.

* ``catalogue``  the table: mutant name -> what it breaks, the client requirements it must trip
* ``testee.py``  the testee the harness launches: ``python tests/client_mutants/testee.py NAME``
  (the reference client's testee with that one mutation patched in)

tests/test_client_mutants.py certifies each and requires every requirement the entry names to
fail, and the meta-test requires every MUST client requirement to be tripped by some mutant.
"""
