"""What `source-chartmogul-duckdb` prints before it reads (each stream's fate and cost) and after (the file's tables, what
the run did, the requests sent and the account's first answers) (source_chartmogul/loader/summary.py)."""

from datetime import date

import duckdb

from source_chartmogul import read_plan
from source_chartmogul.loader import catalog, summary

STREAMS = catalog.streams()


def duckdb_file(tmp_path, *statements: str):
    """A DuckDB file as a load leaves it, made of these SQL statements."""
    db = tmp_path / "chartmogul.duckdb"
    with duckdb.connect(str(db)) as con:
        for statement in statements:
            con.execute(statement)
    return db


def test_the_plan_of_a_first_load_names_each_stream_with_what_a_request_reads():
    selected = ["customers", "mrr", "activities", "customer_subscriptions"]
    costs = read_plan.costs({n: s.definition for n, s in STREAMS.items()}, selected, read_plan.Account())

    assert summary.plan_text(costs, dict.fromkeys(selected, "replaced")).splitlines() == [
        "  customers               replaced  1 request per 200 customers",
        "  mrr                     replaced  1 request",
        "  activities              replaced  1 request for the first of the activities, then 1 per 200 activities in windows of "
        "at most 20 pages from it; the connector says how many windows once it knows the first",
        "  customer_subscriptions  replaced  1 request per customer, and the customers list",
        "Where no count is shown it depends on the account's size; the next run estimates it from this one. "
        "customer_subscriptions costs one request per customer: add --exclude customer_subscriptions to skip it.",
    ]


def test_the_plan_of_a_later_load_estimates_the_requests_from_the_file_and_names_the_kept_tables(tmp_path):
    db = duckdb_file(
        tmp_path,
        "CREATE TABLE customers AS SELECT 'cus_' || i AS uuid FROM range(20000) t(i)",
        "CREATE TABLE activities AS SELECT 'a' || i AS uuid, TIMESTAMP '2026-11-01' + INTERVAL (i) HOUR AS date FROM range(900) t(i)",
        "CREATE TABLE notes AS SELECT 'n' AS uuid",
    )
    status = {"customers": "replaced", "mrr": "replaced", "activities": "merged", "notes": "kept"}
    state = [{"type": "STREAM", "stream": {"stream_descriptor": {"name": "activities"}, "stream_state": {"date": "2026-12-07T10:00:00Z"}}}]
    rows = {"customers": 20_000, "activities": 900, "notes": 1}

    text = summary.plan(STREAMS, ["customers", "mrr", "activities"], status, rows, db, state, {"lookback_window_days": 7})

    since = date(2026, 11, 30)
    windows = -(-(date.today() - since).days // 10)
    activities_since = 900 - (29 * 24)  # the hourly activities from Nov 30 on
    lines = text.splitlines()
    assert lines[:3] == [
        "  customers   replaced  about 100 requests (1 per 200 customers)",
        "  mrr         replaced  1 request",
        f"  activities  merged    about {windows + activities_since // 200} request{'s' * (windows + activities_since // 200 != 1)} "
        f"(1 per 200 activities in each 10-day window since {since})",
    ]
    assert lines[3] == f"About {101 + windows + activities_since // 200:,} requests: 3 s or more at ChartMogul's limit of 40 per second."
    assert lines[4] == "Not selected, kept as they are: notes."


def test_the_plan_counts_the_plan_names_a_request_can_name_and_the_records_of_each_data_source(tmp_path):
    db = duckdb_file(
        tmp_path,
        "CREATE TABLE plans (uuid VARCHAR, name VARCHAR)",
        "INSERT INTO plans VALUES ('pl_1', 'Pro'), ('pl_2', 'Pro'), ('pl_3', 'Starter'), ('pl_4', 'A, B'), ('pl_5', NULL), ('pl_6', '')",
        "CREATE TABLE invoices (uuid VARCHAR, data_source_uuid VARCHAR)",
        "INSERT INTO invoices SELECT 'inv_' || i, 'ds_' || (i % 3) FROM range(700) t(i)",
    )

    account = summary.account_size(db, STREAMS, {"plans": 6, "invoices": 700}, {})

    assert (account.plan_names, sorted(account.per_data_source["invoices"])) == (2, [233, 233, 234])
    assert summary.account_size(tmp_path / "none.duckdb", STREAMS, {}, {}) == read_plan.Account()


def test_the_summary_gives_each_table_its_rows_and_fate_the_requests_sent_the_file_and_the_mrr_of_the_last_months(tmp_path):
    db = duckdb_file(
        tmp_path,
        "CREATE TABLE mrr (date DATE, mrr BIGINT)",
        "INSERT INTO mrr VALUES ('2026-09-30', 1200050), ('2026-10-31', 1250000), ('2026-11-30', 99)",
        "CREATE TABLE account (name VARCHAR, currency VARCHAR)",
        "INSERT INTO account VALUES ('Rockets', 'EUR')",
    )
    result = summary.Result(rows={"mrr": 3, "account": 1, "notes": 12}, status={"mrr": "replaced", "account": "replaced", "notes": "kept"},
                            requests="Requests sent to ChartMogul: 2 (metrics/mrr 1, account 1)")

    text = summary.summary(result, db, 12.34).splitlines()

    assert text[:6] == ["Loaded 16 rows into 3 tables in 12.3 s.", "", "table    rows", "mrr      3", "account  1", "notes    12"]
    assert text[7:11] == ["Replaced (read in full): mrr, account", "Merged on uuid (read incrementally): none",
                          "Kept from an earlier run (not selected): notes", "Requests sent to ChartMogul: 2 (metrics/mrr 1, account 1)"]
    assert text[12].startswith(f"DuckDB file: {db.resolve()} (")
    assert text[13:17] == ["MRR of the last 3 buckets (EUR; ChartMogul counts in cents):  SELECT date, mrr FROM mrr ORDER BY date DESC LIMIT 6",
                           "  2026-09-30       12,000.50", "  2026-10-31       12,500.00", "  2026-11-30            0.99"]


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
    result = summary.Result(rows={"mrr": 2, "mrr_by_plan": 5, "account": 1}, status=dict.fromkeys(["mrr", "mrr_by_plan", "account"], "replaced"))

    text = summary.summary(result, db, 1.0).splitlines()

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

    with duckdb.connect(str(db), read_only=True) as con:
        lines = summary.mrr_by_plan_of_the_latest_bucket(con)

    assert lines[0].startswith("MRR by plan at 2026-11-30 (account currency), largest first; 2 more plans: run the query:  SELECT")
    assert [line.split()[1] for line in lines[1:]] == [str(i) for i in range(12, 2, -1)]


def _account_with_activities(tmp_path, activities: str, buckets: str):
    """A file with the account, activities and mrr tables (the columns the views read) and the views."""
    from source_chartmogul.loader import views

    db = duckdb_file(
        tmp_path,
        "CREATE TABLE account (name VARCHAR, currency VARCHAR, time_zone VARCHAR)",
        "INSERT INTO account VALUES ('Rockets', 'EUR', 'Europe/Berlin')",
        "CREATE TABLE activities (uuid VARCHAR, date TIMESTAMP, type VARCHAR, activity_mrr_movement BIGINT, currency VARCHAR, customer_uuid VARCHAR)",
        f"INSERT INTO activities VALUES {activities}",
        "CREATE TABLE mrr (date DATE, mrr BIGINT)",
        f"INSERT INTO mrr VALUES {buckets}",
    )
    with duckdb.connect(str(db)) as con:
        assert views.create(con, ["account", "activities", "mrr"]) == {}
    return db


def test_in_an_account_of_several_currencies_a_drifting_difference_is_said_to_be_exchange_rate_impact(tmp_path):
    db = _account_with_activities(
        tmp_path,
        "('a1', '2026-09-10 10:00:00', 'new_biz', 10000, 'EUR', 'c1'), ('a2', '2026-10-10 10:00:00', 'new_biz', 5000, 'USD', 'c2')",
        "('2026-09-30', 10000), ('2026-10-31', 15120), ('2026-11-30', 14950)")  # the USD customer's MRR in EUR drifts

    with duckdb.connect(str(db), read_only=True) as con:
        verdict = summary.check_of_the_activities(con, "2026-01-01T00:00:00Z")

    assert verdict[0] == ("Check: the activities do not explain ChartMogul's MRR in 2 of 3 months (SELECT * FROM mrr_check WHERE "
                          "difference <> 0): the difference, ChartMogul's MRR less the activities', is 2026-10 (1.20), 2026-11 (-0.50).")
    assert verdict[1].startswith("  The account has amounts in several currencies (EUR, USD): ChartMogul records no movement for "
                                 "exchange-rate changes (it shows them as exchange-rate impact), so a difference that drifts")


def test_the_waterfall_of_the_summary_shows_each_month_s_movements_net_and_ending_mrr(tmp_path):
    db = _account_with_activities(
        tmp_path,
        "('a1', '2026-09-10 10:00:00', 'new_biz', 10000, 'EUR', 'c1'), ('a2', '2026-09-30 22:30:00', 'expansion', 2000, 'EUR', 'c1'),"
        " ('a3', '2026-11-02 10:00:00', 'churn', -12000, 'EUR', 'c1')",
        "('2026-09-30', 10000), ('2026-10-31', 12000), ('2026-11-30', 0)")

    with duckdb.connect(str(db), read_only=True) as con:
        lines = summary.movements_of_the_last_months(con)
        verdict = summary.check_of_the_activities(con, None)

    assert lines == [
        "MRR movements of the last 3 months (EUR; months in Europe/Berlin):  SELECT * FROM mrr_movements ORDER BY month",
        "  month    new business     expansion   contraction         churn  reactivation           net    ending MRR",
        "  2026-09        100.00          0.00          0.00          0.00          0.00        100.00        100.00",
        "  2026-10          0.00         20.00          0.00          0.00          0.00         20.00        120.00",  # 00:30 in Berlin
        "  2026-11          0.00          0.00          0.00       -120.00          0.00       -120.00          0.00",
    ]
    assert verdict == ["Check: the activities explain ChartMogul's MRR in every month (3 months with an mrr bucket; SELECT * FROM mrr_check)."]


def test_a_table_of_the_user_s_named_like_a_view_is_kept_and_the_view_left_out_saying_why(tmp_path):
    from source_chartmogul.loader import views

    db = duckdb_file(tmp_path, "CREATE TABLE account (currency VARCHAR, time_zone VARCHAR)",
                     "CREATE TABLE activities (date TIMESTAMP, type VARCHAR, activity_mrr_movement BIGINT, customer_uuid VARCHAR)",
                     "CREATE TABLE cohorts AS SELECT 'mine' AS note")

    with duckdb.connect(str(db)) as con:
        left_out = views.create(con, ["account", "activities"])
        note = con.execute("SELECT note FROM cohorts").fetchall()

    assert left_out == {"cohorts": "the file has a table named cohorts, which the view would replace: rename that table",
                        "mrr_check": "it needs the mrr table, which the file does not hold (load it: --streams activities,account,mrr)"}
    assert note == [("mine",)]


def test_settings_the_connector_would_refuse_leave_the_plan_to_the_read_which_says_what_is_wrong(tmp_path):
    config = {"start_date": "2017/01/25", "lookback_window_days": "seven"}
    state = [{"type": "STREAM", "stream": {"stream_descriptor": {"name": "activities"}, "stream_state": {"date": "soon"}}}]

    text = summary.plan(STREAMS, ["activities"], {"activities": "merged"}, {}, tmp_path / "none.duckdb", state, config)

    assert text.splitlines()[0].startswith("  activities  merged    1 request for the first of the activities")
