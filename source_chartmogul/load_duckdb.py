"""Load a ChartMogul account into a local DuckDB file with PyAirbyte: the `source-chartmogul-duckdb` command.

    pip install 'airbyte-source-chartmogul[load]'
    source-chartmogul-duckdb --config secrets/config.json --db chartmogul.duckdb

PyAirbyte (the `load` extra) runs the `source-chartmogul` command installed with this package (spec, check,
discover, read) and writes one table per stream into the DuckDB file. While it reads, the records read so far per
stream are printed on standard error; at the end, the rows of each table, the time taken and where the file is, on
standard output. Running it again updates the file: activities are read incrementally from the state PyAirbyte
keeps in the file, the other streams are read again; rows are merged on each stream's primary key. `--full-refresh`
re-reads everything and replaces the tables. Table and column names are PyAirbyte's normalised ones: lower case,
other characters replaced by `_` (`customer-since` becomes `customer_since`).
"""

import argparse
import json
import os
import shutil
import sys
import sysconfig
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, TextIO, Tuple

CONNECTOR = "source-chartmogul"
COMMAND = "source-chartmogul-duckdb"
INSTALL_LOAD_EXTRA = "pip install 'airbyte-source-chartmogul[load]'"


def connector_executable() -> str:
    """The `source-chartmogul` command installed with this package: beside this command, in this Python's scripts
    folder, or on PATH."""
    for folder in (Path(sys.argv[0]).parent, Path(sysconfig.get_path("scripts"))):
        if (folder / CONNECTOR).is_file():
            return str(folder / CONNECTOR)
    found = shutil.which(CONNECTOR)
    if not found:
        raise SystemExit(f"`{CONNECTOR}` is not installed in this environment: reinstall the package ({INSTALL_LOAD_EXTRA}).")
    return found


def _pyairbyte() -> Tuple[Any, Any]:
    """PyAirbyte and its DuckDB cache, imported only when loading: it is large and comes with the `load` extra only."""
    try:
        with warnings.catch_warnings():  # its Google Cloud clients warn about Python versions: not this command's business
            warnings.simplefilter("ignore", FutureWarning)
            import airbyte
            from airbyte.caches import DuckDBCache
    except ModuleNotFoundError as missing:
        if missing.name != "airbyte":
            raise
        raise SystemExit(f"{COMMAND} needs PyAirbyte, which is not installed. Install the package with its `load` extra: "
                         f"{INSTALL_LOAD_EXTRA}") from None
    return airbyte, DuckDBCache


class Progress:
    """Prints the records read so far per stream: when a stream completes, and at most every `every` seconds."""

    def __init__(self, out: Optional[TextIO] = None, every: float = 5.0, clock: Callable[[], float] = time.monotonic):
        self.out, self.every, self.clock = out or sys.stderr, every, clock
        self.started = self.last = clock()
        self.records: Dict[str, int] = {}
        self.complete: List[str] = []

    def see(self, message: Any) -> None:
        """Count one Airbyte protocol message of the connector: a RECORD, or a stream's COMPLETE status."""
        if message.record is not None:
            self.records[message.record.stream] = self.records.get(message.record.stream, 0) + 1
            if self.clock() - self.last >= self.every:
                self.report()
        elif message.trace is not None and message.trace.stream_status is not None:
            if message.trace.stream_status.status.value == "COMPLETE":
                self.complete.append(message.trace.stream_status.stream_descriptor.name)
                self.report()

    def report(self) -> None:
        self.last = self.clock()
        streams = ", ".join(f"{stream} {count:,}{' (done)' if stream in self.complete else ''}"
                            for stream, count in sorted(self.records.items()))
        done = len(self.complete)
        print(f"[{self.last - self.started:5.1f} s] {done} stream{'s' * (done != 1)} done; records so far: {streams or 'none'}",
              file=self.out, flush=True)


def load(config: Dict[str, Any], db_path: Path, full_refresh: bool = False, progress: Optional[Progress] = None) -> Dict[str, int]:
    """Check the config, sync every stream into `db_path`, and return {table: row count}."""
    # The connector is a local executable: PyAirbyte needs neither its registry nor telemetry.
    os.environ.setdefault("AIRBYTE_OFFLINE_MODE", "1")
    # PyAirbyte's own progress is a live view on a terminal only; ours is printed the same way everywhere.
    os.environ.setdefault("NO_LIVE_PROGRESS", "1")
    ab, DuckDBCache = _pyairbyte()
    executable = connector_executable()
    print(f"Syncing every stream with {executable} into {db_path} ...", file=sys.stderr, flush=True)
    source = ab.get_source(CONNECTOR, config=config, local_executable=executable, streams="*")
    if progress is not None:
        # PyAirbyte has no public hook for the connector's messages: count them where it inspects each one
        # (`_peek_airbyte_message`, PyAirbyte 0.71, pinned by the `load` extra).
        inspect = source._peek_airbyte_message

        def count_and_inspect(message: Any, **kwargs: Any) -> None:
            progress.see(message)
            inspect(message, **kwargs)

        source._peek_airbyte_message = count_and_inspect
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


def summary(counts: Dict[str, int], db_path: Path, seconds: float) -> str:
    """What was loaded, how long it took, where the file is, and what to do next."""
    db = db_path.resolve()
    width = max(map(len, counts), default=5)
    query = f"{sys.executable} -c \"import duckdb; print(duckdb.connect({str(db)!r}).sql('SELECT date, mrr FROM mrr ORDER BY date'))\""
    return "\n".join([
        f"Loaded {sum(counts.values()):,} rows into {len(counts)} tables in {seconds:.1f} s.", "",
        f"{'table':<{width}}  rows", *(f"{table:<{width}}  {rows}" for table, rows in counts.items()), "",
        f"DuckDB file: {db} ({db.stat().st_size / 1e6:.1f} MB)",
        f"Query it:    {query}",
        "Update it:   run the same command again (activities incrementally); add --full-refresh to rebuild it.",
    ])


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog=COMMAND, description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, required=True,
                        help="connector config JSON: api_key, start_date, interval (see the connector's documentation)")
    parser.add_argument("--db", type=Path, default=Path("chartmogul.duckdb"), help="DuckDB file (default: %(default)s)")
    parser.add_argument("--full-refresh", action="store_true", help="re-read every stream and replace the tables")
    args = parser.parse_args(argv)

    try:
        config = json.loads(args.config.read_text())
    except (OSError, ValueError) as error:
        raise SystemExit(f"Cannot read the config file {args.config}: {error}. It must be a JSON object with api_key, "
                         "start_date and interval.") from None
    started = time.monotonic()
    counts = load(config, args.db, full_refresh=args.full_refresh, progress=Progress())
    print(summary(counts, args.db, time.monotonic() - started))
    return 0


if __name__ == "__main__":
    sys.exit(main())
