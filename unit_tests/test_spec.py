"""spec: the three settings, their validation, and the messages a wrong value produces."""

import pytest

from testkit.connector import API_KEY, run_cli
from unit_tests.builders import config


def _spec() -> dict:
    output = run_cli("spec")
    return output.spec_messages[0].spec.connectionSpecification


def test_spec_declares_the_key_as_a_secret_with_guidance_to_create_a_read_only_key():
    api_key = _spec()["properties"]["api_key"]
    assert api_key["airbyte_secret"] is True and api_key["order"] == 0 and api_key["title"] == "API Key"
    assert "Profile > API keys" in api_key["description"] and "Read-only" in api_key["description"]


def test_spec_declares_start_date_with_pattern_format_and_example():
    start_date = _spec()["properties"]["start_date"]
    assert start_date["pattern"] == "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$"
    assert start_date["format"] == "date-time" and start_date["examples"] == ["2017-01-25T00:00:00Z"]
    assert "Activities" in start_date["description"] and "CustomerCount" in start_date["description"]


def test_spec_declares_interval_as_enum_defaulting_to_month_and_all_three_fields_required():
    spec = _spec()
    assert spec["properties"]["interval"]["enum"] == ["day", "week", "month", "quarter", "year"]
    assert spec["properties"]["interval"]["default"] == "month"
    assert {"api_key", "start_date", "interval"} <= set(spec["required"])


@pytest.mark.parametrize(
    "overrides, expected",
    [
        ({"start_date": "2017-01-25"}, "Config error: 'Start date' (start_date) is not valid: '2017-01-25' is not in the format YYYY-MM-DDTHH:mm:ssZ. A valid value looks like 2017-01-25T00:00:00Z."),
        ({"start_date": "25/01/2017 00:00"}, "Config error: 'Start date' (start_date) is not valid: '25/01/2017 00:00' is not in the format YYYY-MM-DDTHH:mm:ssZ. A valid value looks like 2017-01-25T00:00:00Z."),
        ({"interval": "hour"}, "Config error: 'Interval' (interval) is not valid: 'hour' is not one of ['day', 'week', 'month', 'quarter', 'year']. Use one of: day, week, month, quarter, year."),
        ({"interval": None}, "Config error: 'Interval' (interval) is not valid: None is not of type 'string'. Use one of: day, week, month, quarter, year."),
    ],
)
def test_given_invalid_value_when_check_then_fails_naming_the_field_and_a_valid_example(overrides, expected):
    output = run_cli("check", config(**overrides))

    status = output.connection_status_messages[0].connectionStatus
    assert status.status.name == "FAILED" and status.message == expected


@pytest.mark.parametrize("missing", ["api_key", "start_date", "interval"])
def test_given_missing_field_when_check_then_fails_saying_which_is_missing(missing):
    cfg = config()
    del cfg[missing]

    output = run_cli("check", cfg)

    message = output.connection_status_messages[0].connectionStatus.message
    assert message.startswith("Config error: ") and f"({missing}) is missing." in message


def test_given_too_short_key_when_check_then_fails_without_echoing_the_key():
    output = run_cli("check", config(api_key="sk_short"))

    message = output.connection_status_messages[0].connectionStatus.message
    assert message == "Config error: 'API Key' (api_key) is not valid. It must be at least 16 characters long."
    assert "sk_short" not in output.raw


@pytest.mark.parametrize("command", ["discover", "read"])
def test_given_invalid_config_when_discover_or_read_then_emits_a_config_error_trace(command, tmp_path):
    from testkit.connector import catalog

    output = run_cli(command, config(interval="hourly"), catalog("customers") if command == "read" else None)

    assert [e.trace.error.failure_type.value for e in output.errors] == ["config_error"]
    assert "'Interval' (interval) is not valid" in output.errors[0].trace.error.message
    assert API_KEY not in output.raw
