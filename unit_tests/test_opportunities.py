"""opportunities: GET /v1/opportunities, cursor-paginated, records under `entries`, primary key `uuid`, full refresh
(the API cannot filter by `updated_at`)."""

import json

from airbyte_cdk.test.mock_http import HttpResponse

from unit_tests.builders import api_request, assert_reads_three_pages_once, assert_records_match_schema, entries, page, read, sent_requests, template

FIRST_PAGE = {"per_page": "200"}


def test_given_one_page_when_read_then_emits_opportunities_with_pipeline_amount_and_custom_fields(http_mocker):
    http_mocker.get(api_request("opportunities", FIRST_PAGE), HttpResponse(json.dumps(template("opportunities"))))

    output = read("opportunities")

    assert not output.errors
    won, lost = [m.record.data for m in output.records]
    assert won["uuid"] == "7c1e4a90-3b2d-11ef-9f21-5b8d0c6e2a47"
    assert won["customer_uuid"] == "cus_0a1b2c3d-1111-2222-3333-444455556666"
    assert (won["pipeline"], won["pipeline_stage"], won["forecast_category"]) == ("New Business", "Negotiation", "committed")
    assert (won["amount_in_cents"], won["currency"], won["win_likelihood"]) == (1250000, "EUR", 70)
    assert won["estimated_close_date"] == "2024-07-31" and won["type"] == "recurring"
    assert won["custom"] == {"Lead source": "webinar", "Seats requested": 40, "Needs SSO": True}
    assert won["updated_at"] == "2024-06-20T16:02:09.004Z"
    assert lost.get("owner") is None and lost["custom"] == {} and lost["win_likelihood"] == 0
    assert sent_requests(http_mocker) == [("opportunities", FIRST_PAGE)]  # no date filter: updated_at cannot be filtered
    assert_records_match_schema(output)


def test_given_three_pages_when_read_then_sends_each_cursor_once_and_reads_every_opportunity_once(http_mocker):
    assert_reads_three_pages_once(http_mocker, "opportunities", entries("opportunities")[0])


def test_given_no_opportunities_when_read_then_emits_no_record_and_no_error(http_mocker):
    http_mocker.get(api_request("opportunities", FIRST_PAGE), page([], has_more=False))

    output = read("opportunities")

    assert not output.errors and output.records == []
