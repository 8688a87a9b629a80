"""`source-chartmogul-duckdb`: keeps a local DuckDB file an exact mirror of a ChartMogul account, one table per stream.

One module per concern, each importing only those below it:

- `command`: the command line, the demo, exit codes and Ctrl-C;
- `summary`: what the command prints before reading (the read plan, from `source_chartmogul.read_plan`) and after;
- `mirror`: the file, what it held, and the new file written beside it that replaces it whole or not at all;
- `connector`: `source-chartmogul read` in a process of its own, and its messages;
- `progress`: the lines printed while the connector reads;
- `tables`: each stream's table and its records written in bulk by DuckDB;
- `catalog`: the connector's streams, from its packaged manifest and schemas.

Nothing here imports the CDK (its import alone takes 1.5 s) or PyAirbyte; the command imports the other modules only
once it handles Ctrl-C.
"""


class LoadFailed(Exception):
    """The load did not complete, and the file is as it was: the message says why (in the connector's words when the
    connector failed) and what to do."""
