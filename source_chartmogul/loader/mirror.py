"""The DuckDB file, what it holds before a run, and the new file written beside it that replaces it whole or not at all.

After every successful run each table of a stream the run read holds what ChartMogul holds: a stream read in full is
**replaced** (a record deleted in ChartMogul leaves the file), activities read incrementally are **merged** on their
primary key (`uuid`: the records read again over the lookback window stay one row each, the latest), and the tables
of streams not read are **kept** as they were, like everything else in the file (other tables, views, macros).

How: the run writes a new file beside the old one (`.<name>.<pid>.new`): the old file's schema (`COPY FROM DATABASE
... (SCHEMA)`: tables, views, macros, sequences), the tables of the streams read created anew and filled while the
connector reads (`tables`), then the kept tables' rows, the merged table's old rows that were not read again and the
connector's state. The old file stays attached read-only meanwhile, so no other program writes to it. Only when all of
that succeeded does the new file take the old one's place, in one rename: readers see the old file or the new one,
never a mix, and a run that fails or is interrupted leaves the old file byte for byte as it was. The new file is
written once, so it is the size of its data run after run (no compaction needed: measured, a copy of it by DuckDB's
`COPY FROM DATABASE` is no smaller).

The state tables are PyAirbyte's (`_airbyte_state`, `_airbyte_streams`, `_airbyte_destination_state`, same columns and
keys), with the state in PyAirbyte's `state_json` format, so that this command and PyAirbyte can take turns on one file.
"""

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional

from source_chartmogul.loader import LoadFailed, tables, views
from source_chartmogul.loader.catalog import Stream, column_name

SOURCE_NAME = "source-chartmogul"  # `_airbyte_state.source_name`, as PyAirbyte writes it for this connector
CACHE_NAME = "DuckDBCache"  # `_airbyte_streams.source_name`, as PyAirbyte's DuckDB cache writes it
STATE_TABLES = {
    "_airbyte_state": "CREATE TABLE IF NOT EXISTS main._airbyte_state(source_name VARCHAR, stream_name VARCHAR, "
                      "table_name VARCHAR, state_json VARCHAR, last_updated TIMESTAMP WITH TIME ZONE, PRIMARY KEY(table_name))",
    "_airbyte_streams": "CREATE TABLE IF NOT EXISTS main._airbyte_streams(stream_name VARCHAR, source_name VARCHAR, "
                        "table_name VARCHAR, catalog_metadata VARCHAR, PRIMARY KEY(table_name))",
    "_airbyte_destination_state": "CREATE TABLE IF NOT EXISTS main._airbyte_destination_state(destination_name VARCHAR, "
                                  "source_name VARCHAR, stream_name VARCHAR, state_json VARCHAR, last_updated TIMESTAMP "
                                  "WITH TIME ZONE, PRIMARY KEY(destination_name, source_name, stream_name))",
}
# DuckDB settings of the loader's connection: inserts on one thread (two cost 65% more CPU for the same inserts,
# measured on the benchmark account: 11.2 s against 6.7 s), at most MEMORY_LIMIT of cached blocks (by default DuckDB
# keeps 80% of the machine's memory, and the loader's memory grew with the file: 410 MB for the benchmark account),
# no progress bar on the terminal, times in UTC.
MEMORY_LIMIT = "96MB"
SETTINGS = ("SET threads = 1", f"SET memory_limit = '{MEMORY_LIMIT}'", "SET enable_progress_bar = false", "SET TimeZone = 'UTC'")


class FileInUse(LoadFailed):
    """DuckDB could not open the file: most often another program has it open for writing."""


def connect(path: Path, read_only: bool = False) -> Any:
    import duckdb

    try:
        return duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as error:
        raise in_use(path, error) from None


def in_use(path: Path, error: Exception) -> FileInUse:
    return FileInUse(f"{path} could not be read or written ({error}). If another program has it open (a DuckDB shell, "
                     "a notebook), close it and run the command again.")


@dataclass
class Before:
    """What the file holds before the run (nothing, when there is no file)."""

    rows: Dict[str, int] = field(default_factory=dict)  # table of the main schema → rows
    states: Dict[str, str] = field(default_factory=dict)  # stream → its `state_json` in `_airbyte_state`

    @classmethod
    def of(cls, path: Path) -> "Before":
        fold_write_ahead_log(path)
        if not path.exists():
            return cls()
        with connect(path, read_only=True) as con:
            names = [row[0] for row in con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main' AND database_name = current_database()").fetchall()]
            rows = {name: con.execute(f'SELECT COUNT(*) FROM main."{name}"').fetchone()[0] for name in names}
            states = {}
            if "_airbyte_state" in rows:
                states = dict(con.execute("SELECT stream_name, state_json FROM main._airbyte_state WHERE source_name = "
                                          f"{tables.literal(SOURCE_NAME)}").fetchall())
        return cls(rows, states)


def fold_write_ahead_log(path: Path) -> None:
    """A write-ahead log left by an interrupted writer belongs to the old file: fold it in first, or DuckDB would
    replay it against the new file after the rename (measured: duplicated rows)."""
    if Path(f"{path}.wal").exists():
        with connect(path) as con:
            con.execute("CHECKPOINT")


def saved_state(state_json: str) -> Optional[Dict[str, Any]]:
    """The state message to give the connector from a saved one (`_airbyte_state.state_json`, as this command or
    PyAirbyte wrote it): its type and stream, nothing PyAirbyte added. None when it holds no stream state."""
    try:
        saved = json.loads(state_json)
        stream = saved["stream"]
        descriptor = {"name": stream["stream_descriptor"]["name"]}
    except (ValueError, KeyError, TypeError):
        return None
    if stream["stream_descriptor"].get("namespace"):
        descriptor["namespace"] = stream["stream_descriptor"]["namespace"]
    return {"type": "STREAM", "stream": {"stream_descriptor": descriptor, "stream_state": stream.get("stream_state")}}


def state_json(state: Mapping[str, Any]) -> str:
    """A STATE message's `state`, as `_airbyte_state.state_json` holds it: PyAirbyte's serialisation (its protocol
    model's fields in their order, `global_` and unset fields as null), which PyAirbyte reads back."""
    stream = state.get("stream") or {}
    descriptor = stream.get("stream_descriptor") or {}
    stats = state.get("sourceStats")
    return json.dumps({
        "type": state.get("type", "STREAM"),
        "stream": {"stream_descriptor": {"name": descriptor.get("name"), "namespace": descriptor.get("namespace")},
                   "stream_state": stream.get("stream_state")},
        "global_": state.get("global"),
        "data": state.get("data"),
        "sourceStats": None if stats is None else {"recordCount": stats.get("recordCount"),
                                                    "rejectedRecordCount": stats.get("rejectedRecordCount")},
        "destinationStats": state.get("destinationStats"),
    }, separators=(",", ":"))


class NewFile:
    """The new file beside `path`: `with NewFile(path, written, scratch) as new: ...; new.finish(...); new.replace()`.

    `written` are the streams this run reads, whose tables are created anew; `scratch`, a folder where DuckDB may put
    what does not fit in its memory limit. Leaving the `with` block without `replace()` removes the new file, whatever
    happened."""

    def __init__(self, path: Path, written: Iterable[Stream], scratch: Path) -> None:
        self.path, self.written, self.scratch = path, list(written), scratch
        self.new = path.with_name(f".{path.name}.{os.getpid()}.new")
        self.connection: Any = None
        self.views_left_out: Dict[str, str] = {}
        self._old = False

    def __enter__(self) -> "NewFile":
        _remove(self.new)
        _remove_left_by_killed_runs(self.path)
        try:
            import duckdb

            self.connection = duckdb.connect()
            self.connection.execute(f"ATTACH {tables.literal(self.new)} AS new (ROW_GROUP_SIZE {tables.ROW_GROUP_SIZE})")
            self.connection.execute("USE new")
            for setting in SETTINGS:
                self.connection.execute(setting)
            self.connection.execute(f"SET temp_directory = {tables.literal(self.scratch)}")
            if self.path.exists():
                try:
                    self.connection.execute(f"ATTACH {tables.literal(self.path)} AS old (READ_ONLY)")
                except duckdb.IOException as error:
                    raise in_use(self.path, error) from None
                self._old = True
                self.connection.execute("COPY FROM DATABASE old TO new (SCHEMA)")
            for stream in self.written:
                self.connection.execute(f'DROP TABLE IF EXISTS main."{tables.table_name(stream)}"')
                self.connection.execute(tables.create_statement(stream))
        except BaseException:
            self.__exit__()
            raise
        return self

    def cursor(self) -> Any:
        """Another connection to the new file, for another thread."""
        cursor = self.connection.cursor()
        cursor.execute("USE new")
        return cursor

    def old_tables(self) -> List[str]:
        """Every table of the old file, "schema"."table", but those this run writes."""
        if not self._old:
            return []
        written = {tables.table_name(stream) for stream in self.written}
        found = self.connection.execute("SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = 'old'").fetchall()
        return [f'"{schema}"."{table}"' for schema, table in found if not (schema == "main" and table in written)]

    def finish(self, merged: Iterable[Stream], states: Mapping[str, Mapping[str, Any]]) -> Dict[str, int]:
        """Everything but the rows read: the kept tables' rows, each merged table's old rows not read again, one row
        per primary key in every table written, the state tables and the views (`views`; those left out, with why, in
        `views_left_out`). Then the file is written out whole. Returns the rows of each table of its main schema."""
        con = self.connection
        for table in self.old_tables():
            con.execute(f"INSERT INTO new.{table} SELECT * FROM old.{table}")
        for stream in merged:
            self._merge_old_rows(stream)
        for stream in self.written:
            repeated = tables.duplicates_statement(stream)
            if repeated and con.execute(repeated).fetchone()[0]:
                con.execute(tables.keep_last_statement(stream))
        for statement in STATE_TABLES.values():
            con.execute(statement)
        for stream in self.written:
            table = tables.table_name(stream)
            state = states.get(stream.name)
            con.execute(f"DELETE FROM main._airbyte_state WHERE table_name = {tables.literal(table)}")
            if state is not None:
                values = ", ".join(map(tables.literal, (SOURCE_NAME, stream.name, table, state_json(state))))
                con.execute(f"INSERT INTO main._airbyte_state VALUES ({values}, now())")
            values = ", ".join(map(tables.literal, (stream.name, CACHE_NAME, table, json.dumps(stream.json_schema))))
            con.execute(f"INSERT OR REPLACE INTO main._airbyte_streams VALUES ({values})")
        if self._old:
            con.execute("DETACH old")
            self._old = False
        rows = {name: con.execute(f'SELECT COUNT(*) FROM main."{name}"').fetchone()[0] for (name,) in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main' AND database_name = 'new'").fetchall()}
        self.views_left_out = views.create(con, rows)
        con.execute("CHECKPOINT")
        con.close()
        self.connection = None
        return rows

    def _merge_old_rows(self, stream: Stream) -> None:
        """Append the old table's rows whose key this run did not read (the columns both tables have)."""
        table = tables.table_name(stream)
        old = {row[0] for row in self.connection.execute(
            "SELECT column_name FROM duckdb_columns() WHERE database_name = 'old' AND schema_name = 'main' AND table_name = "
            f"{tables.literal(table)}").fetchall()}
        if not old:
            return
        shared = ", ".join(f'"{name}"' for name, _ in tables.columns(stream) if name in old)
        key = " AND ".join(f'n."{column_name(f)}" IS NOT DISTINCT FROM o."{column_name(f)}"' for f in stream.primary_key)
        self.connection.execute(f'INSERT INTO main."{table}" ({shared}) SELECT {shared} FROM old.main."{table}" o '
                                f'WHERE NOT EXISTS (SELECT 1 FROM main."{table}" n WHERE {key})')

    def replace(self) -> None:
        """The one moment the file changes: the new file takes the old one's place."""
        assert self.connection is None, "finish() first"
        os.replace(self.new, self.path)
        self.new = None  # type: ignore[assignment]

    def __exit__(self, *exc: Any) -> None:
        if self.connection is not None:
            try:
                self.connection.close()
            except Exception:
                pass
            self.connection = None
        if self.new is not None:
            _remove(self.new)


def _remove_left_by_killed_runs(path: Path) -> None:
    """The new files of earlier runs killed before they could remove them (SIGKILL, a power cut): those of processes
    that no longer exist."""
    for leftover in path.parent.glob(f".{path.name}.*.new"):
        try:
            os.kill(int(leftover.name.rsplit(".", 2)[1]), 0)
        except ProcessLookupError:
            _remove(leftover)
        except (ValueError, PermissionError):
            continue  # not one of ours, or another user's process


def _remove(path: Path) -> None:
    for leftover in (path, Path(f"{path}.wal")):
        leftover.unlink(missing_ok=True)
