"""The profiles' declarations: one module per profile, each holding its ``PROFILE`` (a
conformance.catalogue.declare.Profile with its requirements). Adding a module here adds the
profile; nothing lists the modules (docs/adding-a-profile.md)."""

from __future__ import annotations

import importlib
import pkgutil

from conformance.catalogue.declare import Profile


def collect() -> tuple[Profile, ...]:
    """Every module's ``PROFILE``, by their declared order (then by name)."""
    found: list[Profile] = []
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        profile = getattr(module, "PROFILE", None)
        if not isinstance(profile, Profile):
            raise AssertionError(f"{module.__name__} declares no PROFILE")
        found.append(profile)
    return tuple(sorted(found, key=lambda p: (p.order, p.name)))


__all__ = ["collect"]
