"""The `source-chartmogul-duckdb` command itself (source_chartmogul/loader/command.py): its options and their errors,
and Ctrl-C or SIGTERM at any moment: exit 130 and the file unchanged, whatever the signal became on its way.
integration_tests/test_duckdb_*.py run it for real against the simulated ChartMogul."""

import json
import os
import signal
import sys

import pytest

from source_chartmogul.loader import LoadFailed, catalog, command, connector, summary
from unit_tests.builders import config as connector_config

STREAMS = catalog.streams()


def test_an_unknown_stream_stops_the_command_before_anything_is_started(monkeypatch, tmp_path):
    monkeypatch.setattr(command, "load", lambda *a, **k: pytest.fail("nothing may be read"))
    with pytest.raises(SystemExit) as exit:
        command.main(["--demo", "--db", str(tmp_path / "demo.duckdb"), "--streams", "customers,invoice_items"])

    assert str(exit.value) == ("source-chartmogul-duckdb: --streams names a stream the connector does not have: invoice_items. "
                               f"Valid names: {', '.join(STREAMS)}.")
    assert not (tmp_path / "demo.duckdb").exists()


def test_without_duckdb_the_command_says_to_install_the_load_extra(monkeypatch, tmp_path):
    monkeypatch.setattr(command.importlib.util, "find_spec", lambda name: None if name == "duckdb" else object())

    with pytest.raises(SystemExit) as exit:
        command.main(["--demo", "--db", str(tmp_path / "demo.duckdb")])

    assert str(exit.value) == ("source-chartmogul-duckdb needs DuckDB, which is not installed. Install the package with its "
                               "`load` extra: pip install 'airbyte-source-chartmogul[load]'")


@pytest.mark.parametrize("content, reason", [(None, "No such file or directory"), ("{api_key: 1}", "Expecting property name")])
def test_an_unreadable_config_file_is_named_with_what_it_must_hold(tmp_path, content, reason):
    config = tmp_path / "config.json"
    if content is not None:
        config.write_text(content)

    with pytest.raises(SystemExit) as exit:
        command.main(["--config", str(config)])

    assert str(exit.value).startswith(f"Cannot read the config file {config}: ")
    assert reason in str(exit.value)
    assert str(exit.value).endswith("It must be a JSON object with api_key, start_date and interval.")


def _main_with_a_load_that(monkeypatch, tmp_path, behaviour):
    """main() with `load` replaced by `behaviour`, which receives a way to send this process a real SIGINT."""
    monkeypatch.setattr(command, "load", lambda *args, **kwargs: behaviour(lambda: os.kill(os.getpid(), signal.SIGINT)))
    monkeypatch.setattr(summary, "summary", lambda *a: "summary")
    config_file = tmp_path / "config.json"
    config_file.write_text(json.dumps(connector_config()))
    return command.main(["--config", str(config_file), "--db", str(tmp_path / "x.duckdb")])


def test_a_failed_load_exits_1_saying_why_and_that_the_file_is_unchanged(monkeypatch, tmp_path, capsys):
    def failing(ctrl_c):
        raise LoadFailed("the read failed: ChartMogul rejected the API key (401: No valid API key provided).")

    assert _main_with_a_load_that(monkeypatch, tmp_path, failing) == 1
    assert capsys.readouterr().err.strip() == ("source-chartmogul-duckdb: the read failed: ChartMogul rejected the API key "
                                               f"(401: No valid API key provided). {tmp_path / 'x.duckdb'} is unchanged.")


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
        return summary.Result({}, {})

    assert _main_with_a_load_that(monkeypatch, tmp_path, swallowing) == 130
    assert "interrupted;" in capsys.readouterr().err


def test_a_real_error_without_a_signal_is_still_raised_with_its_traceback(monkeypatch, tmp_path):
    def broken(ctrl_c):
        raise RuntimeError("a bug")

    with pytest.raises(RuntimeError, match="a bug"):
        _main_with_a_load_that(monkeypatch, tmp_path, broken)


def test_the_command_puts_back_the_signal_handlers_it_found(monkeypatch, tmp_path):
    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    _main_with_a_load_that(monkeypatch, tmp_path, lambda ctrl_c: summary.Result({}, {}))

    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before


def test_a_ctrl_c_while_the_command_starts_exits_130_saying_the_file_is_unchanged():
    """The command handles Ctrl-C before it imports its modules (`requests` alone takes about 0.06 s): a Ctrl-C in
    that time ended it with a traceback (found by benchmarks/interrupt_stress.py, 1 load of 20)."""
    import subprocess

    probe = ("import sys, time; import source_chartmogul.loader.command as command; "
             "print(sorted(m for m in ('requests', 'duckdb', 'orjson', 'source_chartmogul.loader.tables') if m in sys.modules))")

    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)

    assert done.stdout.strip() == "[]"


def test_without_the_connector_installed_the_command_says_to_reinstall(monkeypatch, tmp_path):
    monkeypatch.setattr(sys, "argv", [str(tmp_path / "source-chartmogul-duckdb")])
    monkeypatch.setattr(connector.sysconfig, "get_path", lambda name: str(tmp_path))
    monkeypatch.setenv("PATH", str(tmp_path))

    with pytest.raises(SystemExit) as exit:
        command.load(connector_config(), tmp_path / "x.duckdb", ["customers"])

    assert str(exit.value).startswith("source-chartmogul-duckdb: `source-chartmogul` is not installed in this environment")
    assert not (tmp_path / "x.duckdb").exists()


FAKE_CONNECTOR_READ = """#!{python}
import json
for line in [
    {{"type": "RECORD", "record": {{"stream": "notes", "data": {{"uuid": "n1", "text": "hello"}}, "emitted_at": 1796667815572}}}},
    {{"type": "STATE", "state": {{"type": "STREAM", "stream": {{"stream_descriptor": {{"name": "notes"}},
      "stream_state": {{"__ab_no_cursor_state_message": True}}}}, "sourceStats": {{"recordCount": 1.0}}}}}},
    {{"type": "TRACE", "trace": {{"type": "STREAM_STATUS", "emitted_at": 1, "stream_status": {{"stream_descriptor": {{"name": "notes"}}, "status": "COMPLETE"}}}}}},
    {{"type": "LOG", "log": {{"level": "INFO", "message": "Requests sent to ChartMogul: 1 (notes 1)"}}}},
]:
    print(json.dumps(line))
"""

LOAD_IN_A_PROCESS = """
import json, sys
from pathlib import Path
from source_chartmogul.loader import command, connector
connector.executable = lambda: sys.argv[1]
result = command.load({"api_key": "x" * 30}, Path(sys.argv[2]), ["notes"], out=open("/dev/null", "w"))
print(json.dumps({"rows": result.rows, "requests": result.requests,
                  "imported": sorted(m for m in ("pandas", "numpy", "pyarrow", "airbyte", "airbyte_cdk") if m in sys.modules)}))
"""


def test_a_load_reads_the_connector_s_records_into_their_table_importing_neither_pandas_numpy_pyarrow_nor_the_cdk(tmp_path):
    """DuckDB's Python client imports pandas, NumPy and PyArrow to bind a query parameter (90 MB more memory, measured):
    the loader binds none. Nor does it import the CDK or PyAirbyte (its import alone takes 1.5 s)."""
    import subprocess

    fake = tmp_path / "source-chartmogul"
    fake.write_text(FAKE_CONNECTOR_READ.format(python=sys.executable))
    fake.chmod(0o755)

    done = subprocess.run([sys.executable, "-c", LOAD_IN_A_PROCESS, str(fake), str(tmp_path / "x.duckdb")],
                          capture_output=True, text=True, timeout=60)

    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"rows": {"notes": 1}, "requests": "Requests sent to ChartMogul: 1 (notes 1)", "imported": []}
