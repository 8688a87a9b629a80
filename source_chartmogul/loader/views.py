"""The views the loader creates, or replaces, in the file after each load: what users ask of ChartMogul data first,
which ChartMogul's API does not answer as such. One SQL file each in `views/`, plain SQL naming no database (DuckDB 1.4
keeps a database's alias written into a view, and the file is opened under other names), created in the order below:

- `mrr_movements`: what moved MRR each month (new business, expansion, contraction, churn, reactivation);
- `customer_mrr`: what each customer paid, month by month;
- `cohorts`: how each cohort of customers retains;
- `mrr_check`: whether the activities explain ChartMogul's own MRR, month by month.

Months are calendar months in the account's time zone (`account.time_zone`), as ChartMogul buckets its metrics. A
view whose tables the file does not hold is left out (and one of an earlier run dropped), and the summary says which
and why. They cost nothing to keep: a view is a query, run when it is read.
"""

from pathlib import Path
from typing import Any, Dict, Iterable, Tuple

FOLDER = Path(__file__).parent / "views"
# Each view, and the tables it reads (a view may read those before it).
VIEWS: Tuple[Tuple[str, Tuple[str, ...]], ...] = (
    ("mrr_movements", ("activities", "account")),
    ("customer_mrr", ("activities", "account")),
    ("cohorts", ("activities", "account")),
    ("mrr_check", ("activities", "account", "mrr")),
)


def sql(view: str) -> str:
    return (FOLDER / f"{view}.sql").read_text()


def create(connection: Any, tables: Iterable[str]) -> Dict[str, str]:
    """Create or replace each view whose tables are among `tables` (the main schema's); returns the views left out,
    each with why."""
    tables = set(tables)
    objects = dict(connection.execute("SELECT table_name, table_type FROM information_schema.tables "
                                      "WHERE table_schema = 'main' AND table_catalog = current_database()").fetchall())
    left_out = {}
    for view, needs in VIEWS:
        missing = [table for table in needs if table not in tables]
        if objects.get(view, "VIEW") != "VIEW":
            left_out[view] = f"the file has a table named {view}, which the view would replace: rename that table"
        elif missing:
            connection.execute(f'DROP VIEW IF EXISTS main."{view}"')
            left_out[view] = (f"it needs the {' and '.join(missing)} table{'s' * (len(missing) > 1)}, which the file does "
                              f"not hold (load {'it' if len(missing) == 1 else 'them'}: --streams {','.join(needs)})")
        else:
            connection.execute(sql(view))
    return left_out
