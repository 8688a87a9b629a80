"""The custom components (source_chartmogul/components/) give exactly what the declarative components they stand for
give: RecordsKeyExtractor what the CDK's DpathExtractor extracts (with or without a record expander), record for record
and in order, without dpath's walks; BlankAsNull what subscription_events' AddFields renders, value for value;
PlanNamesFilter the plans its RecordFilter keeps, plus a log line for each plan it leaves out.
integration_tests/test_connector_builder.py reads every stream with both manifests and compares the records."""

import json
from unittest import mock

import pytest
import requests
from airbyte_cdk.sources.declarative.expanders.record_expander import ParentFieldPath, RecordExpander
from airbyte_cdk.sources.declarative.extractors.dpath_extractor import DpathExtractor

from source_chartmogul.components.extractors import RecordsKeyExtractor
from source_chartmogul.simulation import Dataset
from unit_tests.builders import config, template

PAGE = {"invoices": Dataset.generate(customers=100, activities=0).routes["invoices"].records[:200], "has_more": True,
        "cursor": "abc"}


def _response(body) -> requests.Response:
    response = requests.Response()
    response._content = body if isinstance(body, bytes) else json.dumps(body).encode()
    response.status_code = 200
    return response


def _both(field_path, **options):
    return [cls(field_path=field_path, config=config(), parameters={"records_key": "invoices"}, **options)
            for cls in (DpathExtractor, RecordsKeyExtractor)]


@pytest.mark.parametrize("body, field_path", [
    (PAGE, ["invoices"]),                                              # a page of records
    (PAGE, ["{{ parameters.records_key }}"]),                          # the manifest's interpolated key
    (template("customers"), ["entries"]),
    ({"entries": [], "has_more": False}, ["entries"]),                 # an empty page
    ({"has_more": False}, ["entries"]),                                # no records key: nothing
    ({"entries": None}, ["entries"]),                                  # a null list: nothing
    ({"name": "Rockets", "currency": "EUR"}, []),                      # the whole body is the record (account)
    ({"data": {"object": {"id": 1}}}, ["data", "object"]),             # an object: one record
    ({"data": {"object": {}}}, ["data", "object"]),                    # an empty object: nothing
    ({"data": [{"id": 1}, {"id": 2}]}, ["data", "1"]),                 # a list index
    ({"data": [{"id": 1}]}, ["data", "7"]),                            # an index past the end
    ({"a": {"b": 3}}, ["a", "b", "c"]),                                # a path through a scalar
    ({"sections": [{"items": [{"x": 1}]}, {"items": [{"x": 2}]}]}, ["sections", "*", "items"]),  # a glob: dpath's own way
    ([{"id": 1}, {"id": 2}], ["id"]),                                   # a JSON array body: each element decoded alone
])
def test_given_a_body_and_a_path_then_both_extractors_yield_the_same_records_in_the_same_order(body, field_path):
    dpath_extractor, key_extractor = _both(field_path)

    assert list(key_extractor.extract_records(_response(body))) == list(dpath_extractor.extract_records(_response(body)))


def test_given_a_record_expander_then_both_extractors_yield_the_same_expanded_records():
    copied = [ParentFieldPath(parent_path=["uuid"], record_path=["invoice_uuid"], config=config(), parameters={}),
              ParentFieldPath(parent_path=["currency"], record_path=["currency"], config=config(), parameters={})]
    expanders = [RecordExpander(expand_records_from_field=["line_items"], parent_fields=copied, config=config(), parameters={})
                 for _ in range(2)]
    dpath_extractor, key_extractor = [cls(field_path=["invoices"], config=config(), parameters={}, record_expander=expander)
                                      for cls, expander in zip((DpathExtractor, RecordsKeyExtractor), expanders)]

    records = list(key_extractor.extract_records(_response(PAGE)))

    assert records == list(dpath_extractor.extract_records(_response(PAGE)))
    assert len(records) == sum(len(invoice["line_items"]) for invoice in PAGE["invoices"]) > 200
    assert records[0]["invoice_uuid"] == PAGE["invoices"][0]["uuid"]


def test_a_page_is_not_walked():
    """What it is for: dpath is not called for a plain path (it would visit the page's ~18,000 values)."""
    _, key_extractor = _both(["invoices"])

    with mock.patch("dpath.get", side_effect=AssertionError("walked")), mock.patch("dpath.values", side_effect=AssertionError("walked")):
        records = list(key_extractor.extract_records(_response(PAGE)))

    assert [r["uuid"] for r in records] == [invoice["uuid"] for invoice in PAGE["invoices"]]


# --- BlankAsNull ---------------------------------------------------------------------------------------------------
# Every kind of value ChartMogul sends in those fields: integers, integer text (its reference), "", currency codes; and
# text that is not a Python int as written ("05", " 7", "1+2j").
VALUES = ["", None, "100", 100, "-3", "0", 0, "05", " 7", "1+2j", "USD", "GBP", 2.5, False]
# Text that reads as another Python literal, which the AddFields turns into a float, a boolean or a list: no amount in
# cents or currency code is one; BlankAsNull keeps it as text.
LITERALS = {"1.5": 1.5, "1e3": 1000.0, "True": True, "[1, 2]": [1, 2], "1_000": 1000}


def _both_transformations(records):
    from airbyte_cdk.sources.declarative.models import declarative_component_schema as models
    from airbyte_cdk.sources.declarative.parsers.model_to_component_factory import ModelToComponentFactory

    from scripts.builder_manifest import DECLARATIVE
    from source_chartmogul.components.transformations import BlankAsNull

    fields = ["amount_in_cents", "tax_amount_in_cents", "quantity", "currency"]
    add_fields = ModelToComponentFactory().create_component(
        models.AddFields, DECLARATIVE["source_chartmogul.components.transformations.BlankAsNull"]({"fields": fields}), config={})
    ours, theirs = [dict(r) for r in records], [dict(r) for r in records]
    for record in ours:
        BlankAsNull(fields=fields, parameters={}).transform(record)
    for record in theirs:
        add_fields.transform(record, config={})
    return ours, theirs


def test_blank_as_null_gives_what_the_add_fields_it_stands_for_renders_for_every_value_chartmogul_sends():
    fields = ["amount_in_cents", "tax_amount_in_cents", "quantity", "currency"]
    records = [{"id": n, **{field: value for field in fields}} for n, value in enumerate(VALUES)] + [{"id": -1}]

    ours, theirs = _both_transformations(records)

    assert ours == theirs
    assert [r["amount_in_cents"] for r in ours[:4]] == [None, None, 100, 100] and ours[-1]["currency"] is None
    assert all(type(a["quantity"]) is type(b["quantity"]) for a, b in zip(ours, theirs))  # 0 is not False


def test_blank_as_null_keeps_text_that_only_python_reads_as_another_literal():
    ours, theirs = _both_transformations([{"currency": text} for text in LITERALS])

    assert [r["currency"] for r in ours] == list(LITERALS)
    assert [r["currency"] for r in theirs] == list(LITERALS.values())


# --- PlanNamesFilter --------------------------------------------------------------------------------------------
PLAN_NAMES_CONDITION = "{{ record.get('name') and ',' not in record.get('name') }}"  # the manifest's (checked below)
PLAN_NAMES = ["Pro (annual)", "Seats, legacy", "", None, "Équipe", "a,b,c", " ", "2024", "None", "[1]", ",", "Pro (annual)"]


def test_plan_names_filter_keeps_the_plans_its_record_filter_keeps_and_logs_each_one_left_out_once(caplog):
    from airbyte_cdk.sources.declarative.extractors.record_filter import RecordFilter

    from source_chartmogul.components.filters import PlanNamesFilter

    plans = [{"uuid": f"pl_{n}", "name": name} for n, name in enumerate(PLAN_NAMES)]
    declarative = RecordFilter(config=config(), condition=PLAN_NAMES_CONDITION, parameters={})
    custom = PlanNamesFilter(config=config(), condition=PLAN_NAMES_CONDITION, parameters={"by_plan_stream": "metrics_by_plan"})

    with caplog.at_level("WARNING", logger="airbyte"):
        kept = list(custom.filter_records(plans, stream_state={})) + list(custom.filter_records(plans, stream_state={}))

    assert kept == 2 * list(declarative.filter_records(plans, stream_state={}))
    assert [p["name"] for p in kept[:7]] == ["Pro (annual)", "Équipe", " ", "2024", "None", "[1]", "Pro (annual)"]
    logged = [r.getMessage() for r in caplog.records]  # one line per name left out, though both reads met each one
    assert [m.split(": its name")[0].split(": it has")[0] for m in logged] == [
        "metrics_by_plan: skipped the plan 'Seats, legacy' (pl_1)", "metrics_by_plan: skipped the plan pl_2",
        "metrics_by_plan: skipped the plan pl_3", "metrics_by_plan: skipped the plan 'a,b,c' (pl_5)",
        "metrics_by_plan: skipped the plan ',' (pl_10)"]


def test_the_manifest_s_plan_names_filter_has_the_condition_checked_here():
    from testkit.manifest import resolved_manifest

    filters = [parent["stream"]["retriever"]["record_selector"]["record_filter"]
               for s in resolved_manifest()["streams"] if s["name"].endswith("_by_plan")
               for parent in s["retriever"]["partition_router"]["underlying_partition_router"]["parent_stream_configs"]]
    assert len(filters) == 2
    assert {(f["class_name"], f["condition"]) for f in filters} == {("source_chartmogul.components.filters.PlanNamesFilter", PLAN_NAMES_CONDITION)}
