"""The shipped conformance suite: ``pytest --pyargs conformance --conformance-...`` runs it.

Each test checks exactly one catalogue requirement (conformance.catalogue), named with
``@requirement``; its profile decides whether it runs.
"""

__all__: list[str] = []
