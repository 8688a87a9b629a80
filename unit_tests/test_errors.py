"""How each ChartMogul failure reaches the user: retried, or stopped with a message that says what to fix."""

import json

import pytest
from airbyte_cdk.test.mock_http import HttpResponse
from freezegun import freeze_time

from testkit.connector import API_KEY, run_cli
from unit_tests.builders import api_request, config, entries, error, page, read

CUSTOMERS = {"per_page": "200"}


def _only_error(output):
    assert len(output.errors) >= 1
    stream_errors = [e.trace.error for e in output.errors if e.trace.error.stream_descriptor]
    assert len(stream_errors) == 1, [e.trace.error.message for e in output.errors]
    return stream_errors[0]


@pytest.mark.parametrize("status, body, expected", [
    (401, {"code": 401, "message": "No valid API key provided", "param": None},
     "ChartMogul rejected the API key (401: No valid API key provided). The key is wrong or was revoked: create a key "
     "under Profile > API keys in ChartMogul (Read-only is enough) and paste it in 'API Key'."),
    (403, {"code": 403, "message": "Forbidden", "param": None},
     "ChartMogul refused access to https://api.chartmogul.com/v1/customers (403: Forbidden). The key is valid but may not "
     "read this data, or the account's plan or trial does not include API access: check the account's subscription and "
     "that the key belongs to a Staff, Admin or Owner user."),
])
def test_given_auth_failure_when_read_then_config_error_says_how_to_fix_it(http_mocker, retry_sleeps, status, body, expected):
    http_mocker.get(api_request("customers", CUSTOMERS), error(status, body))

    output = read("customers")

    failure = _only_error(output)
    assert failure.failure_type.value == "config_error" and failure.message == expected
    assert retry_sleeps == []  # not retried
    assert API_KEY not in output.raw


@freeze_time("2024-04-15")
@pytest.mark.parametrize("status, body, quoted", [
    (400, {"code": 400, "message": "Invalid interval: month.", "param": "interval"}, "Invalid interval: month."),
    (422, {"errors": {"start-date": "must be before end-date"}}, "{'start-date': 'must be before end-date'}"),
    (400, {"error": "start-date is out of range"}, "start-date is out of range"),
])
def test_given_rejected_parameters_when_read_then_config_error_quotes_chartmogul(http_mocker, status, body, quoted):
    http_mocker.get(api_request("metrics/customer-count", {"start-date": "2024-01-01", "end-date": "2024-04-15", "interval": "month"}),
                    error(status, body))

    output = read("customer_count")

    failure = _only_error(output)
    assert failure.failure_type.value == "config_error"
    assert failure.message.startswith(f'ChartMogul rejected the request to https://api.chartmogul.com/v1/metrics/customer-count: "{quoted}".')
    assert "Check 'Start date'" in failure.message


def test_given_429_with_retry_after_when_read_then_waits_that_long_and_gets_every_record(http_mocker, retry_sleeps):
    http_mocker.get(api_request("customers", CUSTOMERS), [
        error(429, {"code": 429, "message": "Your request rate has exceeded our rate limit.", "param": None}, {"Retry-After": "7"}),
        page(entries("customers")),
    ])

    output = read("customers")

    assert retry_sleeps == [8.0]  # Retry-After plus the CDK's one-second margin
    assert len(output.records) == 2 and not output.errors


def test_given_429s_without_retry_after_when_read_then_backs_off_exponentially(http_mocker, retry_sleeps):
    rate_limited = error(429, {"code": 429, "message": "Your request rate has exceeded our rate limit.", "param": None})
    http_mocker.get(api_request("customers", CUSTOMERS), [rate_limited, rate_limited, rate_limited, page(entries("customers"))])

    output = read("customers")

    assert retry_sleeps == [3.0, 5.0, 9.0]
    assert [m.record.data["uuid"] for m in output.records] == [e["uuid"] for e in entries("customers")]


def test_given_429_on_every_try_when_read_then_gives_up_after_8_retries_and_the_run_names_the_endpoint(http_mocker, retry_sleeps):
    rate_limited = error(429, {"code": 429, "message": "Your request rate has exceeded our rate limit.", "param": None})
    http_mocker.get(api_request("customers", CUSTOMERS), [rate_limited] * 9)

    output = read("customers")

    assert retry_sleeps == [3.0, 5.0, 9.0, 17.0, 33.0, 65.0, 129.0, 257.0]
    assert _only_error(output).message == "API rate limit exceeded."  # the CDK's fixed text for this stream error
    summary = [e.trace.error.message for e in output.errors if not e.trace.error.stream_descriptor]
    assert len(summary) == 1 and (
        "customers: AirbyteTracedException(\"Rate limit retry budget exhausted. Last exception: ChartMogul's rate limit "
        "was hit at https://api.chartmogul.com/v1/customers (429) and the request was retried with backoff up to 8 times."
    ) in summary[0]


@pytest.mark.parametrize("status, body", [(500, "500 Internal Server Error"), (502, "<html>Bad gateway</html>"),
                                          (503, "Service Unavailable"), (504, "Gateway Timeout"), (520, ""), (524, "")])
def test_given_transient_server_error_when_read_then_retries_and_completes(http_mocker, retry_sleeps, status, body):
    http_mocker.get(api_request("customers", CUSTOMERS), [error(status, body), page(entries("customers"))])

    output = read("customers")

    assert retry_sleeps == [3.0] and len(output.records) == 2 and not output.errors


def test_given_server_errors_on_every_try_when_read_then_gives_up_after_8_retries_naming_the_endpoint(http_mocker, retry_sleeps):
    http_mocker.get(api_request("customers", CUSTOMERS), [error(500, "500 Internal Server Error")] * 9)

    output = read("customers")

    assert retry_sleeps == [3.0, 5.0, 9.0, 17.0, 33.0, 65.0, 129.0, 257.0]
    failure = _only_error(output)
    assert failure.failure_type.value == "transient_error"
    assert ("ChartMogul kept failing with a server error (5xx) at https://api.chartmogul.com/v1/customers; "
            "the request was retried with backoff up to 8 times.") in failure.message


def test_given_503_on_every_try_when_read_then_says_too_many_parallel_connections(http_mocker, retry_sleeps):
    http_mocker.get(api_request("customers", CUSTOMERS), [error(503, "Service Unavailable")] * 9)

    failure = _only_error(read("customers"))

    assert "kept answering 503 (too many parallel connections) at https://api.chartmogul.com/v1/customers" in failure.message
    assert "retried with backoff up to 8 times" in failure.message


@pytest.mark.parametrize("status", [404, 405, 409, 410])
def test_given_endpoint_that_chartmogul_does_not_serve_when_read_then_fails_naming_it_without_retrying(http_mocker, retry_sleeps, status):
    http_mocker.get(api_request("customers", CUSTOMERS), error(status, {"code": status, "message": "Not Found", "param": None}))

    failure = _only_error(read("customers"))

    assert failure.failure_type.value == "system_error" and retry_sleeps == []
    assert failure.message == (
        f"ChartMogul has no https://api.chartmogul.com/v1/customers for this account ({status}: Not Found). The endpoint "
        "may have moved or been retired: please report it to the connector's maintainers.")


NOT_THE_ENVELOPE = ["<html><body>Maintenance</body></html>", "", '{"entries": [{"uuid": "cus_', json.dumps({"data": "pong!"}), json.dumps([1, 2])]


@pytest.mark.parametrize("body", NOT_THE_ENVELOPE)
def test_given_response_that_is_never_the_entries_envelope_when_read_then_retries_and_fails_loudly(http_mocker, retry_sleeps, body):
    http_mocker.get(api_request("customers", CUSTOMERS), HttpResponse(body, 200))

    output = read("customers")

    assert output.records == []
    failure = _only_error(output)
    assert failure.message == (
        "Exhausted available request attempts. Please see logs for more details. Exception: "
        "ChartMogul's answer from https://api.chartmogul.com/v1/customers is not the expected JSON list (no 'entries' key), "
        "even after retries. The API may be having an outage or a proxy returned an error page: try again later, and "
        "report it if it persists.")
    assert retry_sleeps == [3.0, 5.0, 9.0, 17.0, 33.0, 65.0, 129.0, 257.0]  # 8 retries, as for a 5xx


@pytest.mark.parametrize("body", NOT_THE_ENVELOPE)
def test_given_one_response_that_is_not_the_envelope_when_read_then_the_retry_gets_every_record(http_mocker, retry_sleeps, body):
    http_mocker.get(api_request("customers", CUSTOMERS), [HttpResponse(body, 200), page(entries("customers"))])

    output = read("customers")

    assert not output.errors
    assert [r.record.data["uuid"] for r in output.records] == [c["uuid"] for c in entries("customers")]
    assert retry_sleeps == [3.0]


@freeze_time("2024-01-06T09:30:00Z")
def test_given_a_failing_stream_when_read_then_other_streams_still_sync_and_the_run_reports_the_failure(http_mocker):
    http_mocker.get(api_request("customers", CUSTOMERS), error(401, {"code": 401, "message": "No valid API key provided", "param": None}))
    http_mocker.get(api_request("activities", {"per_page": "200", "start-date": "2024-01-01T00:00:00Z", "end-date": "2024-01-06T09:30:00Z"}),
                    page(entries("activities")))
    from testkit.connector import catalog

    output = run_cli("read", config(), catalog("customers", "activities"))

    assert {m.record.stream for m in output.records} == {"activities"}
    assert any("customers" in e.trace.error.message for e in output.errors if not e.trace.error.stream_descriptor)
    assert API_KEY not in output.raw


def test_key_is_masked_even_if_chartmogul_echoes_it_in_a_log_line(http_mocker):
    http_mocker.get(api_request("customers", CUSTOMERS),
                    error(401, {"code": 401, "message": f"No valid API key provided: {API_KEY}", "param": None}))

    output = read("customers")

    assert API_KEY not in output.raw
    assert "****" in output.raw
