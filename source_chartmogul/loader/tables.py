"""Each stream's table, and its records written in bulk by DuckDB.

A stream's table has a column per field of its JSON schema, in the schema's order, named as `catalog.column_name`
says and typed as docs/chartmogul.md's data type map says, then PyAirbyte's three columns: `_airbyte_raw_id` (a UUID
v7, text), `_airbyte_extracted_at` (the record's `emitted_at`, TIMESTAMP) and `_airbyte_meta` (JSON, `{}`): the
tables PyAirbyte wrote, column for column, so that files it wrote are updated in place and queries on them keep
working.

The records never pass through Python objects: the connector's RECORD lines are appended, as they are, to a file per
stream (`Spool`), and DuckDB's JSON reader turns each file into rows of the stream's table in one `INSERT` (its
columns typed from the schema: a `date-time` is read with its offset and stored in UTC). The inserts run in a thread
of their own (`Inserts`), while the main thread goes on reading the connector's output: DuckDB works outside the
interpreter lock while it works.
"""

import os
import queue
import threading
from pathlib import Path
from typing import Any, List, Mapping, Optional, Tuple

from source_chartmogul.loader import LoadFailed
from source_chartmogul.loader.catalog import Stream, column_name

AIRBYTE_COLUMNS = (("_airbyte_raw_id", "VARCHAR"), ("_airbyte_extracted_at", "TIMESTAMP"), ("_airbyte_meta", "JSON"))
# How DuckDB writes the tables, measured on the benchmark account (471,793 records of 19 streams, 389 MB of messages;
# benchmarks/load_benchmark.py, docs/performance.md):
# - An INSERT builds a row group in memory, outside DuckDB's memory limit, before it writes it: one INSERT of 160,000
#   invoices peaked at 452 MB in row groups of 122,880 rows (DuckDB's default), at 277 MB in row groups of ROW_GROUP_SIZE.
# - Each INSERT rewrites the table's last row group if it was not full: inserts of 32 MB cost 7.4 s of CPU, inserts of
#   BATCH_ROWS records (whole row groups) 4.3 s, one INSERT per stream 4.5 s. A stream's lines go to DuckDB when it has
#   BATCH_ROWS of them (so DuckDB works while the connector reads) and when it is done.
ROW_GROUP_SIZE = 30_720
BATCH_ROWS = 4 * ROW_GROUP_SIZE


def _types(field_schema: Mapping[str, Any]) -> Tuple[str, str]:
    """(the column's type, the type DuckDB's JSON reader reads the value as) for a field's JSON schema."""
    declared = field_schema.get("type")
    types = [t for t in (declared if isinstance(declared, list) else [declared]) if t != "null"]
    kind = types[0] if len(types) == 1 else None
    if kind == "string":
        if field_schema.get("format") == "date-time":
            return "TIMESTAMP", "TIMESTAMPTZ"  # the offset applied: stored in UTC (the session's time zone)
        return ("DATE", "DATE") if field_schema.get("format") == "date" else ("VARCHAR", "VARCHAR")
    simple = {"integer": "BIGINT", "number": "DECIMAL(38,9)", "boolean": "BOOLEAN", "object": "JSON", "array": "JSON"}
    column_type = simple.get(kind or "", "JSON")  # no single type: the value as JSON, whatever it is
    return column_type, column_type


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def literal(text: str) -> str:
    """A string in SQL. The loader writes its values into its statements rather than binding parameters: DuckDB's
    Python client imports pandas, NumPy and PyArrow to bind one (measured: 90 MB more memory)."""
    return "'" + str(text).replace("'", "''") + "'"


def columns(stream: Stream) -> List[Tuple[str, str]]:
    """(column, type) of the stream's table, in order."""
    fields = [(column_name(field), _types(schema)[0]) for field, schema in stream.json_schema["properties"].items()]
    return fields + list(AIRBYTE_COLUMNS)


def table_name(stream: Stream) -> str:
    return column_name(stream.name)


def create_statement(stream: Stream, schema: str = "main") -> str:
    return (f"CREATE TABLE {_quoted(schema)}.{_quoted(table_name(stream))} ("
            + ", ".join(f"{_quoted(name)} {kind}" for name, kind in columns(stream)) + ")")


def insert_statement(stream: Stream, files: List[Path], schema: str = "main") -> str:
    """One INSERT of every RECORD line of `files` (the connector's messages, as they came) into the stream's table."""
    properties = stream.json_schema["properties"]
    data = ", ".join(f"{_quoted(field)} {_types(field_schema)[1]}" for field, field_schema in properties.items())
    shape = literal(f"STRUCT(data STRUCT({data}), emitted_at DOUBLE)")
    values = ", ".join(f"r.data.{_quoted(field)}" for field in properties)
    paths = "[" + ", ".join(literal(str(path)) for path in files) + "]"
    return (f"INSERT INTO {_quoted(schema)}.{_quoted(table_name(stream))} SELECT {values}, uuidv7()::VARCHAR, "
            f"epoch_ms(CAST(r.emitted_at AS BIGINT)), '{{}}'::JSON FROM (SELECT record AS r FROM read_json({paths}, "
            f"format = 'newline_delimited', columns = {{'record': {shape}}}))")


def duplicates_statement(stream: Stream, schema: str = "main") -> Optional[str]:
    """A query of how many rows repeat the primary key of the row before them in key order (None: the stream has no
    key). By sorting, which DuckDB spills to disk beyond its memory limit: a count of distinct keys, a hash table,
    ran out of memory at the limit on 2,000,000 activities (the benchmark's account x10)."""
    if not stream.primary_key:
        return None
    key = ", ".join(_quoted(column_name(field)) for field in stream.primary_key)
    return (f"SELECT COUNT(*) FROM (SELECT ({key}) AS key, lag(({key})) OVER (ORDER BY {key}) AS previous "
            f"FROM {_quoted(schema)}.{_quoted(table_name(stream))}) WHERE key = previous")


def keep_last_statement(stream: Stream, schema: str = "main") -> str:
    """Keep one row per primary key, the last one written (a record the API listed twice): the rows followed, in key
    order then as written, by a row of the same key are deleted (a sort, which spills to disk as the check does)."""
    table, key = f"{_quoted(schema)}.{_quoted(table_name(stream))}", ", ".join(_quoted(column_name(f)) for f in stream.primary_key)
    return (f"DELETE FROM {table} WHERE rowid IN (SELECT rowid FROM (SELECT rowid, ({key}) = lead(({key})) OVER "
            f"(ORDER BY {key}, rowid) AS superseded FROM {table}) WHERE superseded)")


class StoreFailed(LoadFailed):
    """DuckDB could not store a stream's records in its table: a value not of its schema's type, or the disk."""


class Spool:
    """A stream's RECORD lines, appended to files of BATCH_ROWS lines in `folder`; each full file goes to `inserts`.
    `write` runs once per record: it does no more than append the line and count it."""

    def __init__(self, stream: Stream, folder: Path, inserts: "Inserts") -> None:
        self.stream, self.folder, self.inserts = stream, folder, inserts
        self.records = 0
        self._file: Any = None
        self._path: Optional[Path] = None
        self._files = 0
        self._append = self._open_and_append
        self._full = BATCH_ROWS

    def write(self, line: bytes) -> None:
        self._append(line)
        self.records += 1
        if self.records == self._full:
            self.flush()

    def _open_and_append(self, line: bytes) -> None:
        self._files += 1
        self._path = self.folder / f"{table_name(self.stream)}.{self._files}.jsonl"
        self._file = open(self._path, "wb")
        self._append = self._file.write
        self._append(line)

    def flush(self) -> None:
        """Hand what is spooled to the inserts (the stream is done, or the file is full)."""
        self._full = self.records + BATCH_ROWS
        if self._file is None:
            return
        self._file.close()
        self.inserts.put(self.stream, self._path)  # type: ignore[arg-type]
        self._file, self._path, self._append = None, None, self._open_and_append


class Inserts:
    """The spooled files' INSERTs, one after the other in a thread of its own, on `cursor` (a DuckDB connection of its
    own: a connection is used by one thread at a time)."""

    def __init__(self, cursor: Any) -> None:
        self._cursor = cursor
        self._queue: "queue.Queue[Optional[Tuple[Stream, Path]]]" = queue.Queue()
        self.error: Optional[BaseException] = None
        self._thread = threading.Thread(target=self._run, name="duckdb-inserts", daemon=True)
        self._thread.start()

    def put(self, stream: Stream, path: Path) -> None:
        self._queue.put((stream, path))

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            stream, path = item
            try:
                if self.error is None:
                    self._cursor.execute(insert_statement(stream, [path]))
            except Exception as error:  # kept for `finish`, which raises it in the main thread
                self.error = StoreFailed(
                    f"DuckDB could not store the {stream.name} records in their table: {error} (a value that is not of "
                    "the type the stream's schema declares: please report it to the connector's maintainers, with this "
                    "message; if it is about the disk, free some space)")
            finally:
                os.unlink(path)

    def finish(self) -> None:
        """Wait for every INSERT queued; raise the first one's error, if one failed."""
        self._queue.put(None)
        self._thread.join()
        self._cursor.close()
        self._finished = True
        if self.error is not None:
            raise self.error

    _finished = False

    def abandon(self) -> None:
        """Stop at once (Ctrl-C, or the read failed): the INSERT under way is interrupted, the files queued removed.
        Nothing to do once `finish` ran."""
        if self._finished:
            return
        self._finished = True
        self.error = self.error or KeyboardInterrupt()
        self._cursor.interrupt()
        self._queue.put(None)
        self._thread.join()
        while not self._queue.empty():
            item = self._queue.get()
            if item is not None:
                item[1].unlink(missing_ok=True)
        self._cursor.close()
