"""The `source-chartmogul-duckdb` command without PyAirbyte running: its progress lines, its message when the `load`
extra is missing, and its config errors. integration_tests/test_pyairbyte_duckdb.py runs it for real."""

import io
import json
import sys

import pytest
from airbyte_cdk.models import (
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
from unit_tests.builders import config as connector_config


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


def test_progress_prints_the_records_so_far_per_stream_when_a_stream_completes_and_every_few_seconds():
    out, clock = io.StringIO(), _Clock()
    progress = load_duckdb.Progress(out=out, every=5.0, clock=clock)

    for message in [_status("customers", AirbyteStreamStatus.STARTED), *[_record("customers")] * 3, _record("activities")]:
        progress.see(message)
    assert out.getvalue() == ""  # nothing completed, less than 5 s

    clock.now += 5.0
    progress.see(_record("customers"))
    clock.now += 1.0
    progress.see(_record("customers"))  # 1 s after the last line: not printed
    progress.see(_status("customers", AirbyteStreamStatus.COMPLETE))

    assert out.getvalue().splitlines() == [
        "[  5.0 s] 0 streams done; records so far: activities 1, customers 4",
        "[  6.0 s] 1 stream done; records so far: activities 1, customers 5 (done)",
    ]


def test_without_the_load_extra_the_command_says_how_to_install_it(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "airbyte", None)  # `import airbyte` fails as if it were not installed
    config = tmp_path / "config.json"
    config.write_text(json.dumps(connector_config()))

    with pytest.raises(SystemExit) as exit:
        load_duckdb.main(["--config", str(config), "--db", str(tmp_path / "chartmogul.duckdb")])

    assert str(exit.value) == ("source-chartmogul-duckdb needs PyAirbyte, which is not installed. Install the package "
                               "with its `load` extra: pip install 'airbyte-source-chartmogul[load]'")
    assert not (tmp_path / "chartmogul.duckdb").exists()


def test_help_needs_no_pyairbyte(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "airbyte", None)

    with pytest.raises(SystemExit) as exit:
        load_duckdb.main(["--help"])

    assert exit.value.code == 0
    usage = " ".join(capsys.readouterr().out.split("\n\n")[0].split())
    assert usage == "usage: source-chartmogul-duckdb [-h] --config CONFIG [--db DB] [--full-refresh]"


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
