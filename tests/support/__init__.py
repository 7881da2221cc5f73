"""Shared helpers for the project's tests (import as ``support.<module>``; tests/ is on
sys.path through pytest's rootdir-relative imports, as tests/ is not a package).

* ``support.paths``   short /tmp directories for unix sockets (paths must stay < 107 bytes)
* ``support.tls``     trustme CAs and certificates, made in memory, written as PEM files
* ``support.servers`` in-process ReferenceServer launcher, and the CLI as a subprocess
* ``support.rpc``     raw Predict calls: channels with big-message options, request builders
* ``support.fakecupy`` a strict stand-in for the ``cupy`` module (no GPU needed), counting
                      host<->device transfers
* ``support.devices`` that fake, or real CuPy, selected through reference_client.arrays for a test

tests/conftest.py wraps these as fixtures (``short_dir``, ``tls_files``, ``start_server``,
``kit_server``, ``kit_stub``, ``fake_device``, ``device``).
"""
