"""The manifest's four custom components, a module each, and why they are custom (each module's docstring says why,
measured). Each component stands for a declarative one that the Connector Builder's manifest keeps in its place
(`scripts/builder_manifest.py`); `integration_tests/test_connector_builder.py` checks that both manifests read the same
records on every stream. Measured effect: benchmarks/sync_benchmark.py, docs/performance.md.

- `extractors.RecordsKeyExtractor`, for the `DpathExtractor` of every stream (speed);
- `transformations.BlankAsNull`, for subscription_events' `AddFields` (speed);
- `filters.PlanNamesFilter`, for the `RecordFilter` on the plans the streams by plan read (a log line);
- `shared_pages.SharedPagesRequester` (with its `PagePool`), for the invoice streams' `HttpRequester` (requests).

The manifest names each class by its module (`source_chartmogul.components.extractors.RecordsKeyExtractor`). The
plans the entrypoint makes for a read (activity windows, threads) are not components: `source_chartmogul/read_plan.py`.
"""
