"""What the suites use to check an implementation: raw requests and the handle on a server
under test (wire), hypothesis strategies (strategies, wide_strategies, malformed, hostile,
named), the executable model of the kit and the comparison with it (oracle, compare),
assertion helpers (assertions, kit, tls, resnet), the client checks' session helpers
(clients), hypothesis settings (hypo) and requirement marks (marks).

Each module is public to suite authors and lists its names in ``__all__``; importing this
package imports none of them (the plugin must stay cheap).
"""

__all__: list[str] = []
