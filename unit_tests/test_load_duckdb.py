"""The `source-chartmogul-duckdb` command without PyAirbyte running: its options, the streams it offers and what each
costs, the plan and summary it prints, its progress lines, its message when the `load` extra is missing, and its
config errors. integration_tests/test_pyairbyte_duckdb.py runs it for real against the simulated ChartMogul."""

import io
import json
import sys
from datetime import datetime, timedelta, timezone

import pytest
from airbyte_cdk.models import (
    AirbyteErrorTraceMessage,
    AirbyteMessage,
    AirbyteRecordMessage,
    AirbyteStreamStatus,
    AirbyteStreamStatusTraceMessage,
    AirbyteTraceMessage,
    StreamDescriptor,
    TraceType,
    Type,
)

from source_chartmogul import load_duckdb
from testkit.connector import run_cli
from unit_tests.builders import config as connector_config


def discovered_catalog():
    return run_cli("discover", connector_config()).catalog.catalog.streams


def _record(stream: str) -> AirbyteMessage:
    return AirbyteMessage(type=Type.RECORD, record=AirbyteRecordMessage(stream=stream, data={}, emitted_at=0))


def _status(stream: str, status: AirbyteStreamStatus) -> AirbyteMessage:
    trace = AirbyteTraceMessage(type=TraceType.STREAM_STATUS, emitted_at=0, stream_status=AirbyteStreamStatusTraceMessage(
        stream_descriptor=StreamDescriptor(name=stream), status=status))
    return AirbyteMessage(type=Type.TRACE, trace=trace)


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _error(message: str) -> AirbyteMessage:
    trace = AirbyteTraceMessage(type=TraceType.ERROR, emitted_at=0, error=AirbyteErrorTraceMessage(message=message))
    return AirbyteMessage(type=Type.TRACE, trace=trace)


def duckdb_file(tmp_path, *statements: str):
    """A DuckDB file as a load leaves it, made of these SQL statements."""
    import duckdb

    db = tmp_path / "chartmogul.duckdb"
    with duckdb.connect(str(db)) as con:
        for statement in statements:
            con.execute(statement)
    return db


def test_progress_keeps_each_error_the_connector_reports_once():
    progress = load_duckdb.Progress(out=io.StringIO())

    for message in ["ChartMogul rejected the API key (401: ...)", "ChartMogul rejected the API key (401: ...)", "Another"]:
        progress.see(_error(message))

    assert progress.errors == ["ChartMogul rejected the API key (401: ...)", "Another"]


def test_progress_prints_a_line_per_stream_done_with_its_records_and_time_and_a_total_every_few_seconds():
    out, clock = io.StringIO(), _Clock()
    progress = load_duckdb.Progress(out=out, every=10.0, clock=clock)

    progress.see(_status("customers", AirbyteStreamStatus.STARTED))
    progress.see(_status("activities", AirbyteStreamStatus.STARTED))
    clock.now += 2.0
    for message in [_status("customers", AirbyteStreamStatus.RUNNING), *[_record("customers")] * 3, _record("activities")]:
        progress.see(message)
    assert out.getvalue() == ""  # nothing done, less than 10 s

    clock.now += 8.0
    progress.see(_record("customers"))  # 10 s in: the total
    clock.now += 1.0
    progress.see(_record("customers"))  # 1 s after the last line: not printed
    progress.see(_status("customers", AirbyteStreamStatus.COMPLETE))
    progress.see(_status("account", AirbyteStreamStatus.STARTED))
    clock.now += 0.5
    progress.see(_status("account", AirbyteStreamStatus.COMPLETE))
    progress.close()

    assert out.getvalue().splitlines() == [
        "[  10.0 s] 5 records so far, 0 streams done",
        "[  11.0 s] customers done: 5 records in 9.0 s",  # from its first record (RUNNING), not from the sync's start
        "[  11.5 s] account done: 0 records in 0.5 s",
    ]


def test_progress_on_a_terminal_draws_a_live_total_and_prints_the_streams_done_above_it():
    out, clock = io.StringIO(), _Clock()
    progress = load_duckdb.Progress(out=out, clock=clock, live=True)

    for _ in range(3):
        progress.see(_record("invoices"))
    clock.now += 1.0
    progress.see(_record("activities"))
    progress.see(_status("invoices", AirbyteStreamStatus.COMPLETE))
    drawn = out.getvalue()
    progress.close()

    assert "[   1.0 s] 4 records so far, 0 streams done; reading invoices 3, activities 1" in drawn
    assert "[   1.0 s] invoices done: 3 records in 1.0 s\n" in drawn
    assert "\x1b[" in drawn  # drawn in place with terminal control codes, which a pipe never gets
    assert progress._view is None  # closed: the live line is gone


def test_progress_counts_the_periodic_total_from_the_read_s_first_message_not_from_the_connection_check():
    out, clock = io.StringIO(), _Clock()
    progress = load_duckdb.Progress(out=out, every=5.0, clock=clock)

    clock.now += 6.0  # the check
    progress.see(_record("customers"))
    clock.now += 5.0
    progress.see(_record("customers"))

    assert out.getvalue().splitlines() == ["[  11.0 s] 2 records so far, 0 streams done"]


def test_progress_is_plain_text_when_its_output_is_not_a_terminal():
    assert load_duckdb.Progress(out=io.StringIO()).live is False



STREAMS = load_duckdb.connector_streams()


def test_the_command_offers_the_connector_s_streams_in_its_order_each_with_what_a_request_reads():
    assert list(STREAMS) == [s.name for s in discovered_catalog()]
    assert {name: (s.per, s.of, s.cursor) for name, s in STREAMS.items() if s.per != "page" or s.of != name} == {
        "customer_count": ("request", "", ""), "metrics": ("request", "", ""), "mrr": ("request", "", ""),
        "data_sources": ("request", "", ""), "account": ("request", "", ""),
        "metrics_by_plan": ("plan name", "plans", ""), "mrr_by_plan": ("plan name", "plans", ""),
        "invoice_line_items": ("page", "invoices", ""), "invoice_transactions": ("page", "invoices", ""),
        "activities": ("window", "activities", "date"), "customer_subscriptions": ("customer", "customers", ""),
    }
    assert [name for name, s in STREAMS.items() if s.incremental] == ["activities"]


@pytest.mark.parametrize("stream, rows, since, expected", [
    ("customers", {}, None, ("1 request per 200 customers", None)),
    ("customers", {"customers": 401}, None, ("1 request per 200 customers", 3)),
    ("customer_subscriptions", {"customers": 20_000}, None, ("1 request per customer, and the customers list", 20_100)),
    ("invoice_transactions", {"invoices": 40_000}, None, ("1 request per 200 invoices, the invoices' pages read again", 200)),
    ("mrr", {}, None, ("1 request", 1)),
    ("mrr_by_plan", {}, None, ("1 request per distinct plan name, and the plans list", None)),
    ("mrr_by_plan", {"plans": 450}, None, ("1 request per distinct plan name, and the plans list; at most 1 per plan", 453)),
    ("metrics_by_plan", {"plans": 450, load_duckdb.PLAN_NAMES: 150}, None,
     ("1 request per distinct plan name, and the plans list", 153)),
    ("activities", {"activities": 9_000}, None, ("1 request per 200 activities in each 10-day window since the start date", None)),
])
def test_a_stream_s_cost_is_known_from_the_rows_of_the_last_load(stream, rows, since, expected):
    assert STREAMS[stream].cost(rows, since) == expected


def test_an_incremental_read_costs_at_least_a_request_per_10_day_window_since_where_it_starts():
    since = datetime.now(timezone.utc).date() - timedelta(days=25)

    assert STREAMS["activities"].cost({}, since) == (f"1 request per 200 activities in each 10-day window since {since}", 3)


@pytest.mark.parametrize("only, exclude, message", [
    ("customers,custmers", None, "--streams names a stream the connector does not have: custmers."),
    (None, "subscriptions,notes,account_x", "--exclude names streams the connector does not have: subscriptions, account_x."),
    ("notes", "notes", "no stream left to read."),
])
def test_a_stream_the_connector_does_not_have_stops_the_command_listing_the_valid_names(only, exclude, message):
    with pytest.raises(SystemExit) as exit:
        load_duckdb.choose_streams(STREAMS, only, exclude)

    assert str(exit.value) == f"source-chartmogul-duckdb: {message} Valid names: {', '.join(STREAMS)}."


def test_chosen_streams_come_in_the_connector_s_order_less_the_excluded_ones():
    assert load_duckdb.choose_streams(STREAMS, " notes, customers ,activities", "activities") == ["customers", "notes"]
    assert load_duckdb.choose_streams(STREAMS, None, "customer_subscriptions") == list(STREAMS)[:-1]
    assert load_duckdb.choose_streams(STREAMS, None, None) == list(STREAMS)


def test_an_unknown_stream_stops_the_command_before_anything_is_started(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "airbyte", None)  # PyAirbyte is never reached
    with pytest.raises(SystemExit) as exit:
        load_duckdb.main(["--demo", "--db", str(tmp_path / "demo.duckdb"), "--streams", "customers,invoice_items"])

    assert "--streams names a stream the connector does not have: invoice_items." in str(exit.value)
    assert not (tmp_path / "demo.duckdb").exists()


def test_the_plan_of_a_first_load_names_each_stream_with_its_cost():
    selected = ["customers", "mrr", "activities", "customer_subscriptions"]
    status = dict.fromkeys(selected, "replaced")

    assert load_duckdb.plan_text(STREAMS, selected, status, {}, {}).splitlines() == [
        "  customers               replaced  1 request per 200 customers",
        "  mrr                     replaced  1 request",
        "  activities              replaced  1 request per 200 activities in each 10-day window since the start date",
        "  customer_subscriptions  replaced  1 request per customer, and the customers list",
        "Where no count is shown it depends on the account's size; the next run estimates it from this one. "
        "customer_subscriptions costs one request per customer: add --exclude customer_subscriptions to skip it.",
    ]


def test_the_plan_of_a_later_load_counts_the_requests_from_the_last_load_and_names_the_kept_tables():
    selected = ["customers", "mrr", "activities"]
    status = {"customers": "replaced", "mrr": "replaced", "activities": "merged", "notes": "kept", "customer_subscriptions": "kept"}
    since = datetime.now(timezone.utc).date() - timedelta(days=7)

    assert load_duckdb.plan_text(STREAMS, selected, status, {"customers": 20_000, "notes": 12}, {"activities": since}).splitlines() == [
        "  customers   replaced  about 100 requests (1 per 200 customers)",
        "  mrr         replaced  1 request",
        f"  activities  merged    about 1 request (1 per 200 activities in each 10-day window since {since})",
        "About 102 requests: 3 s or more at ChartMogul's limit of 40 per second.",
        "Not selected, kept as they are: notes, customer_subscriptions.",
    ]


def test_the_summary_gives_each_table_its_rows_and_fate_the_file_and_the_mrr_of_the_last_months(tmp_path):
    db = duckdb_file(
        tmp_path,
        "CREATE TABLE mrr (date DATE, mrr BIGINT)",
        "INSERT INTO mrr VALUES ('2026-09-30', 1200050), ('2026-10-31', 1250000), ('2026-11-30', 99)",
        "CREATE TABLE account (name VARCHAR, currency VARCHAR)",
        "INSERT INTO account VALUES ('Rockets', 'EUR')",
    )
    result = load_duckdb.Result(rows={"mrr": 3, "account": 1, "notes": 12},
                                status={"mrr": "replaced", "account": "replaced", "notes": "kept"})

    text = load_duckdb.summary(result, db, 12.34).splitlines()

    assert text[:6] == ["Loaded 16 rows into 3 tables in 12.3 s.", "", "table    rows", "mrr      3", "account  1", "notes    12"]
    assert text[7:10] == ["Replaced (read in full): mrr, account", "Merged on uuid (read incrementally): none",
                          "Kept from an earlier run (not selected): notes"]
    assert text[11].startswith(f"DuckDB file: {db.resolve()} (")
    assert text[12:16] == ["MRR of the last 3 buckets (EUR; ChartMogul counts in cents):  SELECT date, mrr FROM mrr ORDER BY date DESC LIMIT 6",
                           "  2026-09-30       12,000.50", "  2026-10-31       12,500.00", "  2026-11-30            0.99"]


@pytest.mark.parametrize("content, reason", [(None, "No such file or directory"), ("{api_key: 1}", "Expecting property name")])
def test_an_unreadable_config_file_is_named_with_what_it_must_hold(tmp_path, content, reason):
    config = tmp_path / "config.json"
    if content is not None:
        config.write_text(content)

    with pytest.raises(SystemExit) as exit:
        load_duckdb.main(["--config", str(config)])

    assert str(exit.value).startswith(f"Cannot read the config file {config}: ")
    assert reason in str(exit.value)
    assert str(exit.value).endswith("It must be a JSON object with api_key, start_date and interval.")


# --- Ctrl-C and SIGTERM: exit 130 whatever the signal became on its way -------------------------------------------
def _main_with_a_load_that(monkeypatch, tmp_path, behaviour):
    """main() with `load` replaced by `behaviour`, which receives a real SIGINT sent to this process."""
    import os
    import signal

    def interrupted_load(*args, **kwargs):
        return behaviour(lambda: os.kill(os.getpid(), signal.SIGINT))

    monkeypatch.setattr(load_duckdb, "load", interrupted_load)
    monkeypatch.setattr(load_duckdb, "summary", lambda *a: "summary")
    config_file = tmp_path / "config.json"
    config_file.write_text(json.dumps(connector_config()))
    return load_duckdb.main(["--config", str(config_file), "--db", str(tmp_path / "x.duckdb")])


def test_a_ctrl_c_that_duckdb_turns_into_query_interrupted_still_exits_130_saying_the_file_is_unchanged(monkeypatch, tmp_path, capsys):
    def duckdb_query(ctrl_c):
        try:
            ctrl_c()
        except KeyboardInterrupt:
            raise RuntimeError("Query interrupted") from None  # what DuckDB's Python client raises (measured)

    assert _main_with_a_load_that(monkeypatch, tmp_path, duckdb_query) == 130
    assert capsys.readouterr().err.strip() == f"source-chartmogul-duckdb: interrupted; {tmp_path / 'x.duckdb'} is unchanged."


def test_a_ctrl_c_swallowed_on_its_way_still_stops_the_command_with_130(monkeypatch, tmp_path, capsys):
    def swallowing(ctrl_c):
        try:
            ctrl_c()
        except BaseException:
            pass  # caught by a library that carries on: the load completes
        return load_duckdb.Result({}, {})

    assert _main_with_a_load_that(monkeypatch, tmp_path, swallowing) == 130
    assert "interrupted;" in capsys.readouterr().err


def test_a_real_error_without_a_signal_is_still_raised_with_its_traceback(monkeypatch, tmp_path):
    def broken(ctrl_c):
        raise RuntimeError("a bug")

    with pytest.raises(RuntimeError, match="a bug"):
        _main_with_a_load_that(monkeypatch, tmp_path, broken)


def test_the_command_puts_back_the_signal_handlers_it_found(monkeypatch, tmp_path):
    import signal

    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    _main_with_a_load_that(monkeypatch, tmp_path, lambda ctrl_c: load_duckdb.Result({}, {}))

    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before


def test_the_plan_counts_the_distinct_plan_names_of_the_last_load_that_a_request_can_name(tmp_path):
    assert load_duckdb.plan_names(tmp_path / "chartmogul.duckdb") == {}
    db = duckdb_file(
        tmp_path,
        "CREATE TABLE plans (uuid VARCHAR, name VARCHAR)",
        "INSERT INTO plans VALUES ('pl_1', 'Pro'), ('pl_2', 'Pro'), ('pl_3', 'Starter'), ('pl_4', 'A, B'), ('pl_5', NULL)",
    )

    names = load_duckdb.plan_names(db)
    assert names == {load_duckdb.PLAN_NAMES: 2}
    assert load_duckdb.plan_text(STREAMS, ["mrr_by_plan"], {"mrr_by_plan": "replaced"}, {"plans": 5, **names}, {}).splitlines()[0] == \
        "  mrr_by_plan  replaced  about 3 requests (1 per distinct plan name, and the plans list)"


def test_the_summary_gives_the_latest_bucket_s_mrr_by_plan_largest_first_after_the_mrr_of_the_last_months(tmp_path):
    db = duckdb_file(
        tmp_path,
        "CREATE TABLE mrr (date DATE, mrr BIGINT)",
        "INSERT INTO mrr VALUES ('2026-10-31', 1250000), ('2026-11-30', 1300000)",
        "CREATE TABLE mrr_by_plan (plan VARCHAR, date DATE, mrr BIGINT)",
        "INSERT INTO mrr_by_plan VALUES ('Pro (annual)', '2026-10-31', 900000), ('Pro (annual)', '2026-11-30', 450000),"
        " ('Équipe', '2026-11-30', 800000), ('Starter', '2026-11-30', 50000), ('Starter', '2026-10-31', 999999)",
        "CREATE TABLE account (name VARCHAR, currency VARCHAR)",
        "INSERT INTO account VALUES ('Rockets', 'EUR')",
    )
    result = load_duckdb.Result(rows={"mrr": 2, "mrr_by_plan": 5, "account": 1}, status=dict.fromkeys(["mrr", "mrr_by_plan", "account"], "replaced"))

    text = load_duckdb.summary(result, db, 1.0).splitlines()

    start = text.index("  2026-11-30       13,000.00") + 1  # the last line of the MRR of the last months
    assert text[start:start + 4] == [
        "MRR by plan at 2026-11-30 (EUR), largest first:  SELECT plan, mrr FROM mrr_by_plan WHERE date = "
        "(SELECT MAX(date) FROM mrr_by_plan) ORDER BY mrr DESC, plan",
        f"  {'Équipe':<12}  {8000:>14,.2f}", f"  {'Pro (annual)':<12}  {4500:>14,.2f}", f"  {'Starter':<12}  {500:>14,.2f}"]


def test_the_summary_shows_the_ten_largest_plans_and_says_how_many_more_the_query_gives(tmp_path):
    db = duckdb_file(
        tmp_path,
        "CREATE TABLE mrr_by_plan (plan VARCHAR, date DATE, mrr BIGINT)",
        "INSERT INTO mrr_by_plan SELECT 'Plan ' || i, DATE '2026-11-30', i * 100 FROM range(1, 13) t(i)",
    )

    lines = load_duckdb.mrr_by_plan_of_the_latest_bucket(db)

    assert lines[0].startswith("MRR by plan at 2026-11-30 (account currency), largest first; 2 more plans: run the query:  SELECT")
    assert [line.split()[1] for line in lines[1:]] == [str(i) for i in range(12, 2, -1)]
