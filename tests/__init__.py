"""The test suite: run with ``pytest`` from the repository root (``make test``)."""
