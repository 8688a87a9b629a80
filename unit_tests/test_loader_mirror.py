"""The file's mirror handling (source_chartmogul/loader/mirror.py): the new file written beside the old one keeps
everything the run does not read (other tables, views, macros, schemas), replaces the tables it reads, merges the
incremental one on its key, keeps the connector's state in PyAirbyte's tables and format, and takes the old file's
place only whole: a run that fails leaves the old file byte for byte as it was."""

import hashlib
import json
import os
import subprocess
import sys

import duckdb
import pytest

from source_chartmogul.loader import catalog, mirror, tables

STREAMS = catalog.streams()
CUSTOMERS, ACTIVITIES, NOTES = STREAMS["customers"], STREAMS["activities"], STREAMS["notes"]
# What PyAirbyte 0.71 wrote for activities (integration_tests/test_pyairbyte.py checks it reads ours back).
PYAIRBYTE_STATE = ('{"type":"STREAM","stream":{"stream_descriptor":{"name":"activities","namespace":null},"stream_state":'
                   '{"date":"2026-11-30T10:00:00Z"}},"global_":null,"data":null,"sourceStats":{"recordCount":3.0,'
                   '"rejectedRecordCount":null},"destinationStats":null}')


@pytest.fixture(autouse=True)
def scratch(tmp_path_factory, monkeypatch):
    """The folder where DuckDB puts what does not fit in its memory (the loader's temporary folder)."""
    folder = tmp_path_factory.mktemp("scratch")
    monkeypatch.setattr(sys.modules[__name__], "SCRATCH", folder)
    return folder


SCRATCH = None  # set for each test by the fixture above


def _digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def old_file(tmp_path):
    """A file as an earlier load (and its user) left it: three streams' tables, PyAirbyte's state, a view, a macro and a
    table of the user's own in a schema of their own."""
    path = tmp_path / "chartmogul.duckdb"
    with duckdb.connect(str(path)) as con:
        for stream in (CUSTOMERS, ACTIVITIES, NOTES):
            con.execute(tables.create_statement(stream))
        con.execute("INSERT INTO customers (uuid, name) VALUES ('cus_1', 'Old name'), ('cus_deleted', 'Gone')")
        con.execute("INSERT INTO activities (uuid, type, activity_mrr_movement) VALUES ('a1', 'new_biz', 100), "
                    "('a2', 'expansion', 50), ('a3', 'churn', -150)")
        con.execute("INSERT INTO notes (uuid, text) VALUES ('n1', 'kept note')")
        for statement in mirror.STATE_TABLES.values():
            con.execute(statement)
        con.execute("INSERT INTO _airbyte_state VALUES ('source-chartmogul', 'activities', 'activities', ?, now())", [PYAIRBYTE_STATE])
        con.execute("CREATE VIEW big_customers AS SELECT uuid FROM customers")
        con.execute("CREATE MACRO cents(x) AS x / 100")
        con.execute("CREATE SCHEMA mine")
        con.execute("CREATE TABLE mine.targets AS SELECT 42 AS goal")
    return path


def test_the_state_of_a_file_pyairbyte_wrote_is_read_as_the_connector_s_state_message(old_file):
    before = mirror.Before.of(old_file)

    assert before.rows == {"customers": 2, "activities": 3, "notes": 1, "_airbyte_state": 1, "_airbyte_streams": 0,
                           "_airbyte_destination_state": 0}
    assert mirror.saved_state(before.states["activities"]) == {
        "type": "STREAM", "stream": {"stream_descriptor": {"name": "activities"}, "stream_state": {"date": "2026-11-30T10:00:00Z"}}}
    assert mirror.saved_state("not json") is None and mirror.saved_state('{"type": "GLOBAL"}') is None


def test_a_state_message_is_kept_in_pyairbyte_s_state_json_format():
    state = {"type": "STREAM", "stream": {"stream_descriptor": {"name": "activities"}, "stream_state": {"date": "2026-11-30T10:00:00Z"}},
             "sourceStats": {"recordCount": 3.0}}

    assert mirror.state_json(state) == PYAIRBYTE_STATE


def test_a_run_replaces_the_tables_it_reads_merges_the_incremental_one_and_keeps_everything_else(old_file):
    with mirror.NewFile(old_file, [CUSTOMERS, ACTIVITIES], SCRATCH) as new:
        new.connection.execute("INSERT INTO customers (uuid, name) VALUES ('cus_1', 'New name'), ('cus_2', 'New customer')")
        new.connection.execute("INSERT INTO activities (uuid, type, activity_mrr_movement) VALUES ('a3', 'churn', -140), ('a4', 'reactivation', 70)")
        state = {"type": "STREAM", "stream": {"stream_descriptor": {"name": "activities"}, "stream_state": {"date": "2026-12-06T00:00:00Z"}},
                 "sourceStats": {"recordCount": 2.0}}
        rows = new.finish([ACTIVITIES], {"activities": state})
        new.replace()

    assert rows == {"customers": 2, "activities": 4, "notes": 1, "_airbyte_state": 1, "_airbyte_streams": 2,
                    "_airbyte_destination_state": 0}
    with duckdb.connect(str(old_file), read_only=True) as con:
        assert con.execute("SELECT uuid, name FROM customers ORDER BY uuid").fetchall() == [("cus_1", "New name"), ("cus_2", "New customer")]
        assert con.execute("SELECT uuid, activity_mrr_movement FROM activities ORDER BY uuid").fetchall() == \
            [("a1", 100), ("a2", 50), ("a3", -140), ("a4", 70)]  # a3 read again: this run's row
        assert con.execute("SELECT uuid, text FROM notes").fetchall() == [("n1", "kept note")]
        assert con.execute("SELECT * FROM big_customers ORDER BY uuid").fetchall() == [("cus_1",), ("cus_2",)]
        assert con.execute("SELECT cents(250)").fetchone()[0] == 2.5
        assert con.execute("SELECT goal FROM mine.targets").fetchall() == [(42,)]
        saved = con.execute("SELECT source_name, stream_name, table_name, state_json FROM _airbyte_state").fetchall()
        assert saved == [("source-chartmogul", "activities", "activities", mirror.state_json(state))]
        streams = con.execute("SELECT stream_name, source_name, table_name, catalog_metadata FROM _airbyte_streams ORDER BY 1").fetchall()
        assert streams == [("activities", "DuckDBCache", "activities", json.dumps(ACTIVITIES.json_schema)),
                           ("customers", "DuckDBCache", "customers", json.dumps(CUSTOMERS.json_schema))]
        constraints = {row[0] for row in con.execute("SELECT constraint_text FROM duckdb_constraints() WHERE constraint_type = 'PRIMARY KEY'").fetchall()}
        assert constraints == {"PRIMARY KEY(table_name)", "PRIMARY KEY(destination_name, source_name, stream_name)"}
    assert list(old_file.parent.glob(".chartmogul.duckdb.*")) == [] and not old_file.with_name("chartmogul.duckdb.wal").exists()


def test_a_first_load_creates_the_file_with_pyairbyte_s_state_tables(tmp_path):
    path = tmp_path / "new.duckdb"

    with mirror.NewFile(path, [NOTES], SCRATCH) as new:
        new.connection.execute("INSERT INTO notes (uuid) VALUES ('n1')")
        new.finish([], {"notes": {"type": "STREAM", "stream": {"stream_descriptor": {"name": "notes"},
                                                                "stream_state": {"__ab_no_cursor_state_message": True}}}})
        new.replace()

    with duckdb.connect(str(path), read_only=True) as con:
        assert {row[0]: row[1] for row in con.execute("SELECT table_name, sql FROM duckdb_tables()").fetchall() if row[0].startswith("_")} == \
            {name: ddl.replace("IF NOT EXISTS main.", "") + ";" for name, ddl in mirror.STATE_TABLES.items()}


def test_a_run_that_fails_before_replacing_leaves_the_old_file_byte_for_byte_and_no_new_file(old_file):
    before = _digest(old_file)

    with pytest.raises(RuntimeError, match="the read failed"):
        with mirror.NewFile(old_file, [CUSTOMERS, ACTIVITIES], SCRATCH) as new:
            new.connection.execute("INSERT INTO customers (uuid) VALUES ('cus_9')")
            raise RuntimeError("the read failed")

    assert _digest(old_file) == before
    assert sorted(p.name for p in old_file.parent.iterdir()) == ["chartmogul.duckdb"]


def test_while_a_run_writes_no_other_program_can_write_to_the_old_file(old_file):
    writer = f"import duckdb; duckdb.connect({str(old_file)!r}).execute('DELETE FROM notes')"

    with mirror.NewFile(old_file, [CUSTOMERS], SCRATCH):
        other = subprocess.run([sys.executable, "-c", writer], capture_output=True, text=True)

    assert other.returncode != 0 and "lock" in other.stderr


def test_a_file_another_program_writes_to_is_refused_saying_what_to_do(old_file):
    holder = subprocess.Popen([sys.executable, "-c", f"import duckdb, sys; c = duckdb.connect({str(old_file)!r}); print('open', flush=True); sys.stdin.read()"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "open"
        with pytest.raises(mirror.FileInUse) as refused:
            mirror.Before.of(old_file)
    finally:
        holder.communicate("")

    assert str(refused.value).startswith(f"{old_file} could not be read or written (")
    assert str(refused.value).endswith("If another program has it open (a DuckDB shell, a notebook), close it and run the command again.")


def test_a_key_read_twice_keeps_one_row_in_the_new_file(tmp_path):
    path = tmp_path / "x.duckdb"
    with mirror.NewFile(path, [CUSTOMERS], SCRATCH) as new:
        new.connection.execute("INSERT INTO customers (uuid, name) VALUES ('c', 'first'), ('d', 'd'), ('c', 'second')")
        rows = new.finish([], {})
        new.replace()

    assert rows["customers"] == 2
    with duckdb.connect(str(path), read_only=True) as con:
        assert con.execute("SELECT uuid, name FROM customers ORDER BY uuid").fetchall() == [("c", "second"), ("d", "d")]


def test_the_new_file_of_a_run_that_was_killed_is_removed_by_the_next_run_and_a_running_one_s_is_left(old_file):
    killed = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True).stdout.strip()
    left = [old_file.with_name(f".chartmogul.duckdb.{killed}.new"), old_file.with_name(f".chartmogul.duckdb.{killed}.new.wal")]
    running = old_file.with_name(f".chartmogul.duckdb.{os.getppid()}.new")
    for path in (*left, running):
        path.write_text("left behind")

    with mirror.NewFile(old_file, [NOTES], SCRATCH) as new:
        new.finish([], {})
        new.replace()

    assert [path.exists() for path in (*left, running)] == [False, False, True]


def test_keys_are_checked_and_merged_beyond_duckdb_s_memory_limit_by_spilling_to_the_scratch_folder(tmp_path, monkeypatch):
    """At the benchmark's account x10 (2,000,000 activities), a count of distinct keys ran out of DuckDB's memory limit
    (a hash table, which DuckDB 1.4 did not spill); the check sorts instead, and the merge is a join, both of which
    spill. Here the same with 400,000 activities under a limit of 24 MB."""
    monkeypatch.setattr(mirror, "SETTINGS", tuple(s.replace(mirror.MEMORY_LIMIT, "24MB") for s in mirror.SETTINGS))
    path = tmp_path / "big.duckdb"
    with mirror.NewFile(path, [ACTIVITIES], SCRATCH) as new:
        new.connection.execute("INSERT INTO activities (uuid, activity_mrr_movement) SELECT 'a' || i, i FROM range(400000) t(i)")
        new.finish([], {})
        new.replace()
    with mirror.NewFile(path, [ACTIVITIES], SCRATCH) as new:
        new.connection.execute("INSERT INTO activities (uuid, activity_mrr_movement) SELECT 'a' || i, -i FROM range(399990, 400010) t(i)")
        new.connection.execute("INSERT INTO activities (uuid, activity_mrr_movement) VALUES ('a400009', 1)")  # read twice
        rows = new.finish([ACTIVITIES], {})
        new.replace()

    assert rows["activities"] == 400_010
    with duckdb.connect(str(path), read_only=True) as con:
        assert con.execute("SELECT activity_mrr_movement FROM activities WHERE uuid IN ('a5', 'a399995', 'a400009') ORDER BY uuid").fetchall() == \
            [(-399995,), (1,), (5,)]
