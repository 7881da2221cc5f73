"""The shipped conformance suite: ``pytest --pyargs conformance --conformance-...`` runs it.

Each test checks exactly one catalogue requirement (conformance.catalogue), named with
``@requirement``. A module runs only when a requested profile's declaration names it
(``Profile.suites``, conformance/catalogue/profiles/).
"""

__all__: list[str] = []
