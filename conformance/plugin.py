"""pytest plugin entry point (inert unless its --conformance-* options are used)."""
