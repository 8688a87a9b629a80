"""What the unit tests, the integration tests and the benchmark share, in one place outside the shipped package.

- `connector`: the test API key, a configured catalog, `source-chartmogul` run in-process, this checkout's wheel;
- `manifest`: the manifest as the CDK resolves it, and its streams' names;
- `redirect`: this process's requests for https://api.chartmogul.com sent to the simulation.

A helper that only one of those folders uses stays in it (`unit_tests/builders.py`, `integration_tests/conformance.py`,
`integration_tests/duckdb_mirror.py`). Importable from the repository's root: pytest puts it on the path
(`pythonpath = ["."]` in pyproject.toml), and the benchmark adds the root itself. Not in the wheel: pyproject.toml's
`packages` holds `source_chartmogul` only (unit_tests/test_packaging.py).
"""
