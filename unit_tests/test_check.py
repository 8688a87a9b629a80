"""check: one authenticated request (the first page of customers) and a status a user can act on."""

from testkit.connector import API_KEY, run_cli
from unit_tests.builders import api_request, basic_auth_header, config, entries, error, page


def test_given_valid_key_when_check_then_succeeds_after_one_basic_auth_request(http_mocker):
    request = api_request("customers", {"per_page": "200"})
    http_mocker.get(request, page(entries("customers"), has_more=True, cursor="more"))

    output = run_cli("check", config())

    assert output.connection_status_messages[0].connectionStatus.status.name == "SUCCEEDED"
    http_mocker.assert_number_of_calls(request, 1)  # no second page: one page proves access


def test_basic_auth_header_is_the_key_as_user_name_with_an_empty_password():
    # base64("<key>:"), as ChartMogul's own clients send it (curl -u "$KEY:")
    assert basic_auth_header() == "Basic dGVzdF9jbV9acThYdzNMazlSdjJOcDdZdDRNYjZIYzFKZDVGZzBTYUU6"


def test_given_revoked_key_when_check_then_fails_telling_where_to_create_a_key(http_mocker):
    http_mocker.get(api_request("customers", {"per_page": "200"}),
                    error(401, {"code": 401, "message": "No valid API key provided", "param": None}))

    output = run_cli("check", config())

    status = output.connection_status_messages[0].connectionStatus
    assert status.status.name == "FAILED"
    assert "ChartMogul rejected the API key (401: No valid API key provided)" in status.message
    assert "Profile > API keys" in status.message and "'API Key'" in status.message
    assert API_KEY not in output.raw


def test_given_account_without_api_access_when_check_then_fails_naming_the_reason(http_mocker):
    http_mocker.get(api_request("customers", {"per_page": "200"}),
                    error(403, {"code": 403, "message": "Your trial has expired", "param": None}))

    output = run_cli("check", config())

    status = output.connection_status_messages[0].connectionStatus
    assert status.status.name == "FAILED"
    assert "ChartMogul refused access to https://api.chartmogul.com/v1/customers (403: Your trial has expired)" in status.message
