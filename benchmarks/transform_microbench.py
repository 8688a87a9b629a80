"""Per-record cost of ways to turn subscription_events' "" amounts into null and "100" into 100.

ChartMogul sends `amount_in_cents`, `tax_amount_in_cents`, `quantity` and `currency` as "" on some events (and the
reference shows an amount as the string "100"). Each candidate below is built by the CDK's own factory from the
manifest YAML it stands for (the connector's custom `BlankAsNull` by its constructor) and run over the same 2,000
realistic events (real field set, ~1 in 4 cancellations with
"" values, ~1 in 20 with numeric strings). It prints milliseconds per record and whether the result is right:
"" → null, numeric strings → integers, every other value unchanged.

    .venv/bin/python benchmarks/transform_microbench.py
"""

import collections
import copy
import json
import random
import sys
import time
from pathlib import Path

import yaml
from airbyte_cdk.sources.declarative.models import declarative_component_schema as models
from airbyte_cdk.sources.declarative.parsers.model_to_component_factory import ModelToComponentFactory
from airbyte_cdk.sources.utils.transform import TransformConfig, TypeTransformer

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
FIELDS = ("amount_in_cents", "tax_amount_in_cents", "quantity", "currency")
SCHEMA = json.loads((ROOT / "source_chartmogul" / "schemas" / "subscription_events.json").read_text())


def events(n: int = 2_000, seed: int = 10) -> list:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        kind = rng.random()
        event = {
            "id": 374_000_000 + i, "data_source_uuid": "ds_5c1e0a94-2d3b-11ee-9f41-7b2c7e0d1a66",
            "customer_external_id": f"cus_{i % 400:04d}", "subscription_set_external_id": None,
            "subscription_external_id": f"sub_{i:05d}", "plan_external_id": "plan_team_monthly",
            "event_date": "2024-03-31T22:00:00Z", "effective_date": "2024-03-31T22:00:00Z",
            "event_type": "subscription_start", "external_id": None, "errors": {},
            "created_at": "2024-04-02T09:12:44Z", "updated_at": "2024-04-02T09:12:44Z",
            "quantity": rng.randint(1, 30), "currency": "USD", "amount_in_cents": rng.randint(900, 90_000),
            "tax_amount_in_cents": 0, "retracted_event_id": None,
        }
        if kind < 0.25:  # a cancellation: ChartMogul leaves the amounts blank
            event.update(event_type="subscription_cancelled", quantity="", currency="", amount_in_cents="", tax_amount_in_cents="")
        elif kind < 0.30:  # numbers as strings, as in the reference's example
            event.update(amount_in_cents=str(event["amount_in_cents"]), quantity=str(event["quantity"]))
        out.append(event)
    return out


def expected(event: dict) -> dict:
    fixed = dict(event)
    for field in FIELDS:
        value = event.get(field)
        fixed[field] = None if value == "" else (int(value) if field != "currency" and isinstance(value, str) else value)
    return fixed


def transformations(manifest_yaml: str) -> list:
    factory = ModelToComponentFactory()
    built = []
    for definition in yaml.safe_load(manifest_yaml):
        model = getattr(models, definition["type"])
        built.append(factory.create_component(model, definition, config={}))
    return built


def chain(*steps):
    def run(record: dict) -> None:
        for step in steps:
            step(record)
    return run


def cdk(manifest_yaml: str):
    components = transformations(manifest_yaml)
    return chain(*[lambda r, c=c: c.transform(r, config={}) for c in components])


def normalization(record: dict) -> None:
    TYPE_TRANSFORMER.transform(record, SCHEMA)


TYPE_TRANSFORMER = TypeTransformer(TransformConfig.DefaultSchemaNormalization)

OLD = """
- type: RemoveFields
  field_pointers: [[amount_in_cents], [tax_amount_in_cents], [quantity], [currency]]
  condition: "{{ property == '' }}"
"""
ADD_FIELDS_EXPRESSIONS = """
- type: AddFields
  fields:
""" + "".join(f"""    - type: AddedFieldDefinition
      path: [{f}]
      value: "{{{{ record.get('{f}') if record.get('{f}') != '' else None }}}}"
""" for f in FIELDS)
# A bare `{{ record.x }}`: the CDK evaluates the rendered text as a Python literal ("100" → 100), but "" stays "".
ADD_FIELDS_BARE = """
- type: AddFields
  fields:
""" + "".join(f"""    - type: AddedFieldDefinition
      path: [{f}]
      value: "{{{{ record.{f} }}}}"
""" for f in FIELDS)

def custom_blank_as_null():
    from source_chartmogul.components.transformations import BlankAsNull

    component = BlankAsNull(fields=list(FIELDS), parameters={})
    return lambda record: component.transform(record, config={})


CANDIDATES = {  # name: (transform, Jinja renders per record)
    "RemoveFields + condition (0.4.0)": (cdk(OLD), "1 per leaf (~18)"),
    "AddFields, 4 if/else expressions (Builder)": (cdk(ADD_FIELDS_EXPRESSIONS), "4"),
    "custom BlankAsNull (the connector's)": (custom_blank_as_null(), "0"),
    "AddFields, 4 bare {{ record.x }}": (cdk(ADD_FIELDS_BARE), "4"),
    "schema_normalization: Default": (normalization, "0"),
    "schema_normalization + 4 if/else AddFields": (chain(cdk(ADD_FIELDS_EXPRESSIONS), normalization), "4"),
    "no transformation": (lambda record: None, "0"),
}


def verdict(batch: list, records: list) -> str:
    wrong = collections.Counter()
    for out, original in zip(batch, records):
        for field, value in expected(original).items():
            if field not in out:
                wrong[f"drops {field}" if value is not None else "drops the key instead of null"] += 1
            elif out[field] != value:
                wrong[f"{value!r:.6} left as {out[field]!r:.6}" if value is None else f"{field} not cast"] += 1
    return "right" if not wrong else "; ".join(sorted(wrong))


def measure(transform, records: list, repeat: int = 3) -> tuple:
    best = float("inf")
    for _ in range(repeat):
        batch = copy.deepcopy(records)
        started = time.perf_counter()
        for record in batch:
            transform(record)
        best = min(best, time.perf_counter() - started)
    return best / len(records) * 1000, verdict(batch, records)


def main() -> None:
    import logging

    logging.getLogger("airbyte").setLevel(logging.ERROR)  # the normalizer WARNs on every "" it cannot cast
    records = events()
    print(f"{len(records)} subscription events, {sum(r['amount_in_cents'] == '' for r in records)} with \"\" amounts, "
          f"{sum(isinstance(r['quantity'], str) and r['quantity'] != '' for r in records)} with numeric strings")
    print(f"{'candidate':45} {'renders':>16} {'ms/record':>10} {'records/s':>10}  result")
    for name, (transform, renders) in CANDIDATES.items():
        ms, result = measure(transform, records)
        rate = f"{1000 / ms:10.0f}" if ms > 1e-4 else f"{'-':>10}"
        print(f"{name:45} {renders:>16} {ms:10.4f} {rate}  {result}")
    # RemoveFields' condition is evaluated on every leaf, and dpath deletes any leaf it accepts, listed or not:
    probe = {**records[0], "plan_external_id": "", "errors": {"currency": ""}}
    CANDIDATES["RemoveFields + condition (0.4.0)"][0](probe)
    print(f"before, on an event with plan_external_id \"\" and errors {{'currency': ''}}: removed keys "
          f"{sorted(set(records[0]) - set(probe))}, errors became {probe.get('errors')}")


if __name__ == "__main__":
    sys.exit(main())
