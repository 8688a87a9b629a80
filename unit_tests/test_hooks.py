"""Every hook on a library's internals runs only over the code it was tested against; otherwise it steps aside.

Each hook (cdk_speedups' four replacements, source.py's two ways of ordering the streams) compares the library functions it depends on with the ones it was tested against. Here each one
meets a changed function (the library's own, wrapped: other code, the same behaviour) and a missing one: it is skipped,
the library's code stays in place, and one log line names the hook and the function. A sync with every hook skipped
reads the same records as one with them all.
"""

import json
import logging
import os
import subprocess
import sys
from typing import Any, Callable

import pytest
from airbyte_cdk.sources.concurrent_source.concurrent_source import ConcurrentSource
from airbyte_cdk.sources.declarative.concurrent_declarative_source import ConcurrentDeclarativeSource

from source_chartmogul import cdk_speedups, hooks, source
from source_chartmogul.simulation import Dataset, SimulatedChartMogul
from testkit.connector import API_KEY, ROOT, catalog, run_cli
from unit_tests.builders import config, discovered_schemas

ALL_HOOKS = [*cdk_speedups.HOOKS, *source.HOOKS]


def changed(original: Callable[..., Any]) -> Callable[..., Any]:
    """The same behaviour in other code: what a library upgrade that touched the function looks like to a hook."""
    def upgraded(*args: Any, **kwargs: Any) -> Any:
        return original(*args, **kwargs)
    return upgraded


@pytest.fixture(autouse=True)
def each_skip_said_anew(monkeypatch):
    monkeypatch.setattr(hooks, "_SAID", [])


@pytest.mark.parametrize("hook", source.HOOKS, ids=lambda hook: hook.name)
def test_with_the_locked_libraries_every_hook_finds_the_functions_it_was_tested_against(hook):
    # A failure here after an upgrade names the function that changed: review it, re-run the hook's tests and the
    # benchmark, and record its new digest in the module that declares the hook (python -m source_chartmogul.hooks).
    assert hook.problem() is None


def test_with_the_locked_cdk_every_speedup_replaced_the_function_it_was_tested_against():
    assert cdk_speedups.installed()  # importing source.py installed them all
    originals = [cdk_speedups.cdk_slice_hash, cdk_speedups.cdk_parse, cdk_speedups.cdk_response_json, cdk_speedups.cdk_json_decode]
    assert [hooks.source_digest(f) for f in originals] == [hook.tested[0][1] for hook in cdk_speedups.HOOKS]


def test_the_listing_prints_the_digest_of_every_function_each_hook_was_tested_against(tmp_path):
    """`python -m source_chartmogul.hooks` (source_chartmogul/hooks/__main__.py), what to record after an upgrade: with
    the locked libraries, exactly the digests each hooking module declares, a line per function, CDK functions before
    source.py replaces them."""
    env = {**os.environ, "AIRBYTE_OFFLINE_MODE": "1", "DO_NOT_TRACK": "1", "AIRBYTE_LOGGING_ROOT": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "source_chartmogul.hooks"], capture_output=True, text=True, timeout=120,
                          cwd=ROOT, env=env)

    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.splitlines() == [f"{hook.name}: {target} {digest}" for hook in ALL_HOOKS for target, digest in hook.tested]


# --- cdk_speedups: four CDK functions replaced ---------------------------------------------------------------------
REPLACED = list(zip(cdk_speedups.HOOKS, cdk_speedups._REPLACEMENTS,
                    [cdk_speedups.cdk_slice_hash, cdk_speedups.cdk_parse, cdk_speedups.cdk_response_json, cdk_speedups.cdk_json_decode]))


@pytest.mark.parametrize("hook, replacement, cdk_function", REPLACED, ids=[hook.name for hook, _, _ in REPLACED])
def test_a_speedup_whose_cdk_function_changed_is_skipped_with_one_log_line_and_the_cdk_s_own_runs(monkeypatch, caplog, hook, replacement, cdk_function):
    owner, name, _ = replacement
    upgraded = changed(cdk_function)
    monkeypatch.setattr(owner, name, staticmethod(upgraded) if name == "_safe_response_json" else upgraded)

    with caplog.at_level(logging.WARNING, logger="airbyte"):
        assert cdk_speedups.install() == [hook.name]
        assert cdk_speedups.install() == [hook.name]  # again: still skipped, not said twice

    assert getattr(owner, name) is upgraded  # the CDK's (upgraded) function stays in place
    target = hook.tested[0][0]
    assert [r.getMessage() for r in caplog.records] == [
        f"Skipped the hook '{hook.name}': {target} in the installed airbyte-cdk {_version('airbyte-cdk')} is not the "
        "function it was tested against. The library's own code runs instead (the same records, without this hook's gain)."]


@pytest.mark.parametrize("hook, replacement, cdk_function", REPLACED, ids=[hook.name for hook, _, _ in REPLACED])
def test_a_speedup_whose_cdk_function_is_gone_is_skipped_and_adds_nothing(monkeypatch, caplog, hook, replacement, cdk_function):
    owner, name, _ = replacement
    monkeypatch.delattr(owner, name)

    with caplog.at_level(logging.WARNING, logger="airbyte"):
        assert cdk_speedups.install() == [hook.name]

    assert name not in owner.__dict__
    # Gone from the class: either nothing answers to the name, or a base class's function does, which is not the tested one.
    said = caplog.records[0].getMessage()
    assert said.startswith(f"Skipped the hook '{hook.name}': {hook.tested[0][0]} ")
    assert "does not exist in the installed airbyte-cdk" in said or "is not the function it was tested against" in said


# --- source.py: the streams' order ---------------------------------------------------------------------------------
def test_with_a_changed_concurrent_source_streams_create_their_partitions_as_the_cdk_decides(monkeypatch, caplog):
    cdk_default = SourceWithoutHooks(config=config())._concurrent_source._initial_number_partitions_to_generate
    monkeypatch.setattr(ConcurrentSource, "read", changed(ConcurrentSource.read))

    with caplog.at_level(logging.WARNING, logger="airbyte"):
        chartmogul = source.SourceChartmogul(config=config())

    assert chartmogul._concurrent_source._initial_number_partitions_to_generate == cdk_default != 1
    assert "Skipped the hook 'streams create their partitions one at a time': " \
           "airbyte_cdk.sources.concurrent_source.concurrent_source:ConcurrentSource.read in the installed" in caplog.text


def test_with_the_concurrent_source_s_partition_start_gone_the_hook_is_skipped(monkeypatch, caplog):
    monkeypatch.delattr(ConcurrentSource, "_submit_initial_partition_generators")

    with caplog.at_level(logging.WARNING, logger="airbyte"):
        chartmogul = source.SourceChartmogul(config=config())

    assert chartmogul._concurrent_source._initial_number_partitions_to_generate != 1
    assert "ConcurrentSource._submit_initial_partition_generators does not exist in the installed airbyte-cdk" in caplog.text


def test_with_a_changed_stream_selection_the_streams_come_in_the_cdk_s_order(monkeypatch, caplog):
    alphabetical = catalog(*sorted(discovered_schemas()))
    chartmogul = source.SourceChartmogul(config=config(), catalog=alphabetical)
    streams = chartmogul.streams(config())
    cdk_order = [s.name for s in ConcurrentDeclarativeSource._select_streams(chartmogul, streams, alphabetical)]
    assert [s.name for s in chartmogul._select_streams(streams, alphabetical)] != cdk_order  # the hook reorders them
    monkeypatch.setattr(ConcurrentDeclarativeSource, "_select_streams", changed(ConcurrentDeclarativeSource._select_streams))

    with caplog.at_level(logging.WARNING, logger="airbyte"):
        assert [s.name for s in chartmogul._select_streams(streams, alphabetical)] == cdk_order

    assert "Skipped the hook 'streams start in the manifest's order': " in caplog.text


def test_with_the_stream_selection_gone_the_hook_is_skipped(monkeypatch):
    monkeypatch.delattr(ConcurrentDeclarativeSource, "_select_streams")

    assert not source.MANIFEST_ORDER.applies(log=lambda message: None)
    assert "ConcurrentDeclarativeSource._select_streams does not exist" in source.MANIFEST_ORDER.problem()


class SourceWithoutHooks(ConcurrentDeclarativeSource):
    """The CDK's own source over the same manifest: what the CDK decides without source.py's hooks."""

    def __init__(self, config: Any) -> None:
        import yaml

        manifest = yaml.safe_load((ROOT / "source_chartmogul" / "manifest.yaml").read_text())
        super().__init__(source_config=manifest, config=config)


# --- every hook skipped: the same records -------------------------------------------------------------------------
EVERY_HOOK_SKIPPED = """
import sys
from airbyte_cdk.sources.concurrent_source.concurrent_source import ConcurrentSource
from airbyte_cdk.sources.declarative.concurrent_declarative_source import ConcurrentDeclarativeSource
from airbyte_cdk.sources.declarative.datetime.datetime_parser import DatetimeParser
from airbyte_cdk.sources.declarative.decoders.json_decoder import JsonDecoder
from airbyte_cdk.sources.declarative.requesters.error_handlers.http_response_filter import HttpResponseFilter
from airbyte_cdk.sources.types import StreamSlice

def changed(original):
    def upgraded(*args, **kwargs):
        return original(*args, **kwargs)
    return upgraded

for owner, name in [(StreamSlice, "__hash__"), (DatetimeParser, "parse"), (JsonDecoder, "decode"),
                    (ConcurrentSource, "read"), (ConcurrentSource, "_submit_initial_partition_generators"),
                    (ConcurrentDeclarativeSource, "_select_streams")]:
    setattr(owner, name, changed(getattr(owner, name)))
HttpResponseFilter._safe_response_json = staticmethod(changed(HttpResponseFilter._safe_response_json))

from source_chartmogul.source import run
run(sys.argv[1:])
"""


def test_a_sync_with_every_hook_skipped_reads_the_same_records_as_one_with_every_hook(tmp_path):
    account = Dataset.generate(customers=40, activities=300, metric_days=120)
    streams = list(discovered_schemas())
    with SimulatedChartMogul(account, API_KEY) as simulation:
        cfg = config(start_date=f"{account.routes['metrics/mrr'].records[0]['date']}T00:00:00Z", api_base_url=simulation.url)
        with_hooks = run_cli("read", cfg, catalog(*streams))
        (tmp_path / "config.json").write_text(json.dumps(cfg))
        (tmp_path / "catalog.json").write_text(json.dumps(_catalog_json(streams)))
        done = subprocess.run([sys.executable, "-c", EVERY_HOOK_SKIPPED, "read", "--config", str(tmp_path / "config.json"),
                               "--catalog", str(tmp_path / "catalog.json")], capture_output=True, text=True, timeout=300, cwd=ROOT)

    assert done.returncode == 0, done.stderr[-3000:]
    messages = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    skipped = [m["log"]["message"] for m in messages if m["type"] == "LOG" and m["log"]["message"].startswith("Skipped the hook")]
    assert sorted(message.split("': ")[0].removeprefix("Skipped the hook '") for message in skipped) == sorted(h.name for h in [*cdk_speedups.HOOKS, *source.HOOKS])
    without_hooks = _records_by_stream([(m["record"]["stream"], m["record"]["data"]) for m in messages if m["type"] == "RECORD"])
    assert not with_hooks.errors
    expected = _records_by_stream([(m.record.stream, m.record.data) for m in with_hooks.records])
    assert set(expected) == set(streams) and all(expected.values())
    assert without_hooks == expected


def _records_by_stream(records):
    found = {}
    for stream, data in records:
        found.setdefault(stream, []).append(json.dumps(data, sort_keys=True))
    return {stream: sorted(rows) for stream, rows in found.items()}


def _catalog_json(streams):
    from airbyte_cdk.models import ConfiguredAirbyteCatalogSerializer

    return ConfiguredAirbyteCatalogSerializer.dump(catalog(*streams))


def _version(distribution: str) -> str:
    from importlib.metadata import version

    return version(distribution)
