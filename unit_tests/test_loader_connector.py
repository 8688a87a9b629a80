"""The connector's read as the loader runs it (source_chartmogul/loader/connector.py): its files in a folder of their
own, removed however the read ends; its messages, records handed on unparsed; and how it is stopped."""

import json
import os
import sys
import textwrap
import time
from pathlib import Path

import pytest

from source_chartmogul.loader import connector

CONFIG = {"api_key": "test_cm_Zq8Xw3Lk9Rv2Np7Yt4Mb6Hc1Jd5Fg0SaE", "start_date": "2024-01-01T00:00:00Z", "interval": "month"}
CATALOG = {"streams": []}


def _record(stream: str, data: dict) -> str:
    return json.dumps({"type": "RECORD", "record": {"stream": stream, "data": data, "emitted_at": 1}}, separators=(",", ":"))


def fake_connector(tmp_path: Path, body: str) -> str:
    """An executable standing in for `source-chartmogul`: `body` runs with `args` (its arguments) and `emit(line)`."""
    script = tmp_path / "source-chartmogul"
    script.write_text(f"#!{sys.executable}\nimport json, os, sys, time\nargs = sys.argv[1:]\n"
                      "def emit(line):\n    print(line, flush=True)\n" + textwrap.dedent(body))
    script.chmod(0o755)
    return str(script)


def test_records_of_the_streams_taken_are_handed_on_as_they_came_and_every_other_message_is_parsed(tmp_path):
    lines = [_record("customers", {"uuid": "c1"}),
             json.dumps({"type": "STATE", "state": {"type": "STREAM", "stream": {"stream_descriptor": {"name": "customers"}}}}),
             json.dumps({"record": {"stream": "customers", "data": {"uuid": "c2"}}, "type": "RECORD"}),  # another layout
             _record("notes", {"uuid": "n1"}),  # a stream not taken
             "Some library printed this", ""]
    command = fake_connector(tmp_path, f"for line in {lines!r}:\n    emit(line)\n")
    taken = []

    with connector.ConnectorRead(command, CONFIG, CATALOG) as read:
        messages = list(read.messages({b"customers": taken.append}))
        assert read.wait() == 0

    assert taken == [lines[0].encode() + b"\n"]
    assert [(m["type"], line) for m, line in messages] == [
        ("STATE", lines[1].encode() + b"\n"), ("RECORD", lines[2].encode() + b"\n"), ("RECORD", lines[3].encode() + b"\n"),
        ("TEXT", lines[4].encode() + b"\n")]
    assert messages[1][0]["record"]["data"] == {"uuid": "c2"} and messages[3][0]["text"] == "Some library printed this"


def test_the_connector_gets_its_config_catalog_and_state_in_files_only_this_user_can_read_removed_after(tmp_path):
    command = fake_connector(tmp_path, """
        files = dict(zip(args[1::2], args[2::2]))
        folder = os.path.dirname(files["--config"])
        emit(json.dumps({"type": "LOG", "log": {"level": "INFO", "message": json.dumps({
            "command": args[0], "mode": oct(os.stat(folder).st_mode & 0o777), "folder": folder,
            **{option: json.load(open(path)) for option, path in files.items()}})}}))
    """)
    state = [{"type": "STREAM", "stream": {"stream_descriptor": {"name": "activities"}, "stream_state": {"date": "x"}}}]

    with connector.ConnectorRead(command, CONFIG, CATALOG, state) as read:
        (message, _), = list(read.messages({}))
        read.wait()
    seen = json.loads(message["log"]["message"])

    assert seen == {"command": "read", "mode": "0o700", "folder": seen["folder"], "--config": CONFIG, "--catalog": CATALOG,
                    "--state": state}
    assert not Path(seen["folder"]).exists()


def test_leaving_early_stops_the_connector_with_sigterm_and_removes_its_files(tmp_path):
    command = fake_connector(tmp_path, """
        import signal
        def stopped(*_):
            open(os.environ["STOPPED_MARK"], "w").write("SIGTERM")
            sys.exit(143)
        signal.signal(signal.SIGTERM, stopped)
        emit(json.dumps({"type": "LOG", "log": {"level": "INFO", "message": "started"}}))
        time.sleep(60)
    """)
    mark = tmp_path / "stopped"
    os.environ["STOPPED_MARK"] = str(mark)
    try:
        started = time.monotonic()
        with connector.ConnectorRead(command, CONFIG, CATALOG) as read:
            next(read.messages({}))
            folder = Path(read.process.args[3]).parent
    finally:
        del os.environ["STOPPED_MARK"]

    assert time.monotonic() - started < 10
    assert mark.read_text() == "SIGTERM" and read.process.returncode == 143
    assert not folder.exists()


def test_a_connector_that_ignores_sigterm_is_killed(tmp_path, monkeypatch):
    monkeypatch.setattr(connector, "STOP_SECONDS", 0.5)
    command = fake_connector(tmp_path, """
        import signal
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        emit(json.dumps({"type": "LOG", "log": {"level": "INFO", "message": "started"}}))
        time.sleep(60)
    """)

    with connector.ConnectorRead(command, CONFIG, CATALOG) as read:
        next(read.messages({}))

    assert read.process.returncode == -9


def test_what_the_connector_wrote_on_standard_error_is_kept_for_the_error_message(tmp_path):
    command = fake_connector(tmp_path, "sys.stderr.write('Traceback: it broke\\n'); sys.exit(3)\n")

    with connector.ConnectorRead(command, CONFIG, CATALOG) as read:
        assert list(read.messages({})) == []
        assert read.wait() == 3
        assert read.stderr_tail() == "Traceback: it broke"


def test_the_connector_is_the_one_installed_beside_the_command(monkeypatch, tmp_path):
    (tmp_path / "source-chartmogul").write_text("")
    monkeypatch.setattr(sys, "argv", [str(tmp_path / "source-chartmogul-duckdb")])

    assert connector.executable() == str(tmp_path / "source-chartmogul")


def test_without_a_connector_installed_the_message_says_to_reinstall(monkeypatch, tmp_path):
    monkeypatch.setattr(sys, "argv", [str(tmp_path / "source-chartmogul-duckdb")])
    monkeypatch.setattr(connector.sysconfig, "get_path", lambda name: str(tmp_path))
    monkeypatch.setenv("PATH", str(tmp_path))

    with pytest.raises(connector.ConnectorMissing, match=r"`source-chartmogul` is not installed in this environment: reinstall"):
        connector.executable()



def test_following_a_read_passes_on_records_statuses_each_warning_once_and_keeps_each_stream_s_last_state(tmp_path):
    state = lambda date: {"type": "STREAM", "stream": {"stream_descriptor": {"name": "activities"}, "stream_state": {"date": date}}}  # noqa: E731
    status = lambda stream, value: {"type": "TRACE", "trace": {"type": "STREAM_STATUS", "emitted_at": 1, "stream_status": {  # noqa: E731
        "stream_descriptor": {"name": stream}, "status": value}}}
    lines = [json.dumps(status("activities", "RUNNING")), _record("activities", {"uuid": "a1"}),
             json.dumps({"type": "STATE", "state": state("2026-01-01T00:00:00Z")}),
             json.dumps({"type": "LOG", "log": {"level": "INFO", "message": "Starting syncing"}}),
             json.dumps({"type": "LOG", "log": {"level": "WARN", "message": "mrr_by_plan: skipped the plan 'A, B'\nmore"}}),
             json.dumps({"type": "LOG", "log": {"level": "WARN", "message": "mrr_by_plan: skipped the plan 'A, B'\nmore"}}),
             json.dumps({"type": "STATE", "state": state("2026-02-01T00:00:00Z")}), json.dumps(status("activities", "COMPLETE")),
             json.dumps({"type": "LOG", "log": {"level": "INFO", "message": "Requests sent to ChartMogul: 3 (activities 3)"}})]
    command = fake_connector(tmp_path, f"for line in {lines!r}:\n    emit(line)\n")
    records, statuses, said, checks = [], [], [], []

    with connector.ConnectorRead(command, CONFIG, CATALOG) as read:
        outcome = connector.follow(read, {b"activities": records.append}, lambda *s: statuses.append(s), said.append,
                                   lambda: checks.append(1))

    assert records == [lines[1].encode() + b"\n"] and len(checks) == len(lines) - 1  # every message but the record
    assert statuses == [("activities", "RUNNING"), ("activities", "COMPLETE")]
    assert said == ["source-chartmogul: mrr_by_plan: skipped the plan 'A, B'"]
    assert outcome == connector.Outcome({"activities": state("2026-02-01T00:00:00Z")}, None,
                                        "Requests sent to ChartMogul: 3 (activities 3)")


def test_following_a_read_stops_at_the_first_error_the_connector_reports(tmp_path):
    error = lambda text: json.dumps({"type": "TRACE", "trace": {"type": "ERROR", "emitted_at": 1, "error": {  # noqa: E731
        "message": text, "failure_type": "config_error"}}})
    command = fake_connector(tmp_path, f"""
        emit({error("ChartMogul rejected the API key (401)")!r})
        emit({error("During the sync, the following streams did not sync successfully")!r})
        time.sleep(60)
    """)

    started = time.monotonic()
    with connector.ConnectorRead(command, CONFIG, CATALOG) as read:
        outcome = connector.follow(read, {}, lambda *s: None, lambda line: None, lambda: None)

    assert outcome.error == "ChartMogul rejected the API key (401)"
    assert time.monotonic() - started < 10 and read.process.returncode is not None  # stopped, not waited for
