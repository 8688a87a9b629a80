#!/usr/bin/env python3
"""Sync every ChartMogul stream into a local DuckDB file with PyAirbyte, then print the row count of each table.

    pip install -e '.[load]'
    python scripts/load_duckdb.py --config secrets/config.json --db chartmogul.duckdb

PyAirbyte runs the installed `source-chartmogul` executable (spec, check, discover, read) and writes one table per
stream into the DuckDB file. Running it again updates the file: activities are read incrementally from the state
PyAirbyte keeps in the file, the other streams are read again; rows are merged on each stream's primary key.
`--full-refresh` re-reads everything and replaces the tables. Table and column names are PyAirbyte's normalised
ones: lower case, other characters replaced by `_` (`customer-since` becomes `customer_since`).
"""

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Dict, List, Optional

CONNECTOR = "source-chartmogul"


def connector_executable() -> str:
    """The installed console script: on PATH, or next to this Python when its virtualenv is not activated."""
    beside_python = Path(sys.executable).with_name(CONNECTOR)
    found = shutil.which(CONNECTOR) or (str(beside_python) if beside_python.exists() else None)
    if not found:
        raise SystemExit(f"`{CONNECTOR}` is not installed in this environment: run pip install -e '.[load]' first.")
    return found


def load(config: Dict, db_path: Path, full_refresh: bool = False) -> Dict[str, int]:
    """Check the config, sync every stream into `db_path`, and return {table: row count}."""
    # The connector is a local executable: PyAirbyte needs neither its registry nor telemetry.
    os.environ.setdefault("AIRBYTE_OFFLINE_MODE", "1")
    import airbyte as ab
    from airbyte.caches import DuckDBCache

    source = ab.get_source(CONNECTOR, config=config, local_executable=connector_executable(), streams="*")
    source.check()  # fails fast, with the connector's own message, on a wrong key or setting
    with tempfile.TemporaryDirectory(prefix="pyairbyte-") as scratch:
        cache = DuckDBCache(db_path=db_path, cache_dir=Path(scratch))
        # Incremental where a stream supports it, rows merged on primary keys; or everything re-read, tables replaced.
        result = source.read(cache=cache, force_full_refresh=full_refresh,
                             write_strategy="replace" if full_refresh else "auto")
        counts = {}
        for stream in source.get_selected_streams():
            table = result.cache.processor.get_sql_table_name(stream)
            counts[table] = int(cache.run_sql_query(f'SELECT COUNT(*) AS n FROM "{table}"')[0]["n"])
        cache.close()
    return counts


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, required=True,
                        help="connector config JSON: api_key, start_date, interval (see docs/chartmogul.md)")
    parser.add_argument("--db", type=Path, default=Path("chartmogul.duckdb"), help="DuckDB file (default: %(default)s)")
    parser.add_argument("--full-refresh", action="store_true", help="re-read every stream and replace the tables")
    args = parser.parse_args(argv)

    counts = load(json.loads(args.config.read_text()), args.db, full_refresh=args.full_refresh)
    width = max(map(len, counts), default=5)
    print(f"{'table':<{width}}  rows")
    for table, rows in counts.items():
        print(f"{table:<{width}}  {rows}")
    print(f"{len(counts)} tables in {args.db}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
