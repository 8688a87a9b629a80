"""Each stream's table (source_chartmogul/loader/tables.py): its columns and types as docs/chartmogul.md's data type
map says, the connector's RECORD lines written into it in bulk by DuckDB with the values the records hold, PyAirbyte's
three columns, and one row per primary key."""

import json
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from source_chartmogul.loader import catalog, mirror, tables
from source_chartmogul.loader.catalog import Stream

SCHEMA = {"type": "object", "properties": {
    "uuid": {"type": "string"},
    "customer-since": {"type": ["null", "string"], "format": "date-time"},
    "day": {"type": ["null", "string"], "format": "date"},
    "mrr": {"type": ["null", "integer"]},
    "ltv": {"type": ["null", "number"]},
    "disabled": {"type": ["null", "boolean"]},
    "attributes": {"type": ["null", "object"]},
    "external_ids": {"type": ["null", "array"]},
    "Odd Name!": {"type": ["null", "string"]},
    "anything": {},
}}
STREAM = Stream("things", ("uuid",), "", SCHEMA, {})


def _line(data: dict, emitted_at: int = 1_796_667_815_572, stream: str = "things") -> bytes:
    return json.dumps({"type": "RECORD", "record": {"stream": stream, "data": data, "emitted_at": emitted_at}}).encode() + b"\n"


def _load(tmp_path: Path, stream: Stream, lines: list) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(tmp_path / "t.duckdb"))
    for setting in mirror.SETTINGS:
        con.execute(setting)
    con.execute(tables.create_statement(stream))
    inserts = tables.Inserts(con.cursor())
    spool = tables.Spool(stream, tmp_path, inserts)
    for line in lines:
        spool.write(line)
    spool.flush()
    inserts.finish()
    return con


def test_each_field_is_a_column_in_the_schema_s_order_typed_as_the_data_type_map_says_then_pyairbyte_s_three():
    assert tables.columns(STREAM) == [
        ("uuid", "VARCHAR"), ("customer_since", "TIMESTAMP"), ("day", "DATE"), ("mrr", "BIGINT"), ("ltv", "DECIMAL(38,9)"),
        ("disabled", "BOOLEAN"), ("attributes", "JSON"), ("external_ids", "JSON"), ("odd_name_", "VARCHAR"), ("anything", "JSON"),
        ("_airbyte_raw_id", "VARCHAR"), ("_airbyte_extracted_at", "TIMESTAMP"), ("_airbyte_meta", "JSON")]


def test_records_are_stored_with_their_values_timestamps_in_utc_whatever_their_offset(tmp_path):
    lines = [
        _line({"uuid": "a", "customer-since": "2024-05-01T02:00:00+02:00", "day": "2024-01-31", "mrr": 12345,
               "ltv": 1862989.79, "disabled": True, "attributes": {"tags": ["x"], "n": 1}, "external_ids": ["e1", "e2"],
               "Odd Name!": "odd", "anything": [1, "two"], "undeclared": "dropped"}),
        _line({"uuid": "b", "customer-since": "2024-05-01T00:00:00.250Z", "ltv": 0.05}),
        _line({"uuid": "c", "customer-since": "2020-05-06T01:00:00", "mrr": None}, emitted_at=1_796_667_815_999),
    ]

    con = _load(tmp_path, STREAM, lines)
    rows = con.execute("SELECT * EXCLUDE (_airbyte_raw_id) FROM things ORDER BY uuid").fetchall()

    assert rows[0][:9] == ("a", datetime(2024, 5, 1, 0, 0), date(2024, 1, 31), 12345, Decimal("1862989.790000000"), True,
                           '{"tags":["x"],"n":1}', '["e1","e2"]', "odd")
    assert json.loads(rows[0][9]) == [1, "two"]
    assert rows[1][:5] == ("b", datetime(2024, 5, 1, 0, 0, 0, 250000), None, None, Decimal("0.050000000"))
    assert rows[2][1] == datetime(2020, 5, 6, 1, 0)  # no offset: read as UTC
    assert rows[2][3] is None
    assert [row[-2:] for row in rows] == [(datetime(2026, 12, 7, 18, 23, 35, 572000), "{}")] * 2 + \
        [(datetime(2026, 12, 7, 18, 23, 35, 999000), "{}")]  # the record's emitted_at, in UTC; no change recorded


def test_each_row_gets_a_raw_id_of_its_own_a_uuid_v7_as_text(tmp_path):
    con = _load(tmp_path, STREAM, [_line({"uuid": str(n)}) for n in range(500)])

    ids = [row[0] for row in con.execute("SELECT _airbyte_raw_id FROM things").fetchall()]
    assert len(set(ids)) == 500 and all(len(i) == 36 and i[14] == "7" for i in ids)


def test_a_stream_s_lines_go_to_duckdb_in_files_of_a_bounded_number_of_lines_each_removed_once_inserted(tmp_path, monkeypatch):
    monkeypatch.setattr(tables, "BATCH_ROWS", 16)
    inserted = []
    original = tables.insert_statement
    monkeypatch.setattr(tables, "insert_statement", lambda stream, files, schema="main": inserted.append(files) or original(stream, files, schema))

    con = _load(tmp_path, STREAM, [_line({"uuid": str(n), "Odd Name!": "x" * 100}) for n in range(100)])

    assert con.execute("SELECT COUNT(*), COUNT(DISTINCT uuid) FROM things").fetchone() == (100, 100)
    assert len(inserted) == 7  # six full files of 16 lines, inserted while the next one filled, and the last 4 lines
    assert list(tmp_path.glob("*.jsonl")) == []


def test_a_value_duckdb_cannot_store_as_its_type_fails_the_inserts_naming_the_stream_and_duckdb_s_reason(tmp_path):
    with pytest.raises(tables.StoreFailed) as failed:
        _load(tmp_path, STREAM, [_line({"uuid": "a", "mrr": "not a number"})])

    assert str(failed.value).startswith("DuckDB could not store the things records in their table: ")
    assert 'Failed to cast value to numerical: "not a number"' in str(failed.value)
    assert "report it to the connector's maintainers" in str(failed.value)


def test_abandoned_inserts_stop_and_leave_no_file(tmp_path):
    con = duckdb.connect(str(tmp_path / "t.duckdb"))
    con.execute(tables.create_statement(STREAM))
    inserts = tables.Inserts(con.cursor())
    spool = tables.Spool(STREAM, tmp_path, inserts)
    for n in range(1000):
        spool.write(_line({"uuid": str(n)}))
    spool.flush()

    inserts.abandon()

    assert list(tmp_path.glob("*.jsonl")) == []
    inserts.abandon()  # twice: nothing more


def test_a_key_listed_twice_keeps_one_row_the_last_one(tmp_path):
    con = _load(tmp_path, STREAM, [_line({"uuid": "a", "mrr": 1}), _line({"uuid": "b", "mrr": 2}), _line({"uuid": "a", "mrr": 3})])

    assert con.execute(tables.duplicates_statement(STREAM)).fetchone()[0] == 1
    con.execute(tables.keep_last_statement(STREAM))
    assert con.execute("SELECT uuid, mrr FROM things ORDER BY uuid").fetchall() == [("a", 3), ("b", 2)]
    assert con.execute("SELECT COUNT(*) FROM duckdb_tables() WHERE table_name LIKE '_loader%'").fetchone()[0] == 0


@pytest.mark.parametrize("name", list(catalog.streams()))
def test_every_stream_s_table_is_created_with_a_column_per_schema_field(tmp_path, name):
    stream = catalog.streams()[name]
    con = duckdb.connect()

    con.execute(tables.create_statement(stream))

    columns = [row[0] for row in con.execute(f"SELECT column_name FROM duckdb_columns() WHERE table_name = '{tables.table_name(stream)}' "
                                             "ORDER BY column_index").fetchall()]
    assert columns == [catalog.column_name(f) for f in stream.json_schema["properties"]] + [c for c, _ in tables.AIRBYTE_COLUMNS]


def test_the_data_type_map_of_the_docs_is_the_loader_s():
    """docs/chartmogul.md's data type map names, for each schema type, the DuckDB column the loader creates."""
    docs = (Path(__file__).resolve().parents[1] / "docs" / "chartmogul.md").read_text()
    table = docs.split("## Data type map", 1)[1].split("\n\n", 2)[2].split("\n\n", 1)[0]
    rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in table.splitlines()[2:]]
    documented = {row[0]: row[3].split("`")[1] for row in rows}  # `TIMESTAMP`, in UTC: the column type between backquotes
    schemas = {"`string`": {"type": "string"}, "`string`, `format: date-time`": {"type": "string", "format": "date-time"},
               "`string`, `format: date`": {"type": "string", "format": "date"}, "`integer`": {"type": "integer"},
               "`number`": {"type": "number"}, "`boolean`": {"type": "boolean"}, "`object`": {"type": "object"},
               "`array`": {"type": "array"}}

    assert set(documented) == set(schemas)
    assert {kind: tables.columns(Stream("s", (), "", {"properties": {"f": schema}}, {}))[0][1] for kind, schema in schemas.items()} == \
        documented
