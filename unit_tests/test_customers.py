from unit_tests.builders import api_request, assert_records_match_schema, entries, error, numbered, page, read, template

from airbyte_cdk.test.mock_http import HttpResponse
import json


def test_given_one_page_when_read_then_emits_customers_with_hyphenated_fields(http_mocker):
    http_mocker.get(api_request("customers", {"per_page": "200"}), HttpResponse(json.dumps(template("customers"))))

    output = read("customers")

    assert not output.errors
    acme, lead = [m.record.data for m in output.records]
    assert acme["uuid"] == "cus_0a1b2c3d-1111-2222-3333-444455556666"
    assert acme["customer-since"] == "2021-03-04T10:00:00+00:00"
    assert acme["mrr"] == 12900 and acme["arr"] == 154800
    assert acme["attributes"]["custom"] == {"Seats": 12, "Channel": "partner", "Renewal": "2025-03-04 00:00:00", "Trial": True}
    assert acme["billing-system-type"] == "Stripe" and acme["currency-sign"] == "€"
    assert lead["status"] == "New Lead" and lead.get("customer-since") is None  # the protocol omits top-level nulls
    assert_records_match_schema(output)
