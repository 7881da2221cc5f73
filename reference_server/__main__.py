"""``python -m reference_server``: see reference_server.cli."""

from reference_server.cli import main

raise SystemExit(main())


__all__: list[str] = []
