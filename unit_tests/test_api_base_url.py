"""Where requests go: api.chartmogul.com over HTTPS, unless the hidden `api_base_url` setting names the local
simulation on a loopback address. Any other value is a config error raised before the first request, so the API key
never leaves for another host. metadata.yaml allows api.chartmogul.com alone."""

import pytest
import yaml
from airbyte_cdk.models import FailureType, Status
from airbyte_cdk.sources.declarative.interpolation.interpolated_string import InterpolatedString

from source_chartmogul.simulation import Dataset, SimulatedChartMogul
from testkit.connector import API_KEY, ROOT, catalog, run_cli
from testkit.manifest import resolved_manifest, stream_names
from unit_tests.builders import config, sent_requests


def _rendered_urls(cfg: dict) -> dict:
    """Each stream's request URL as the manifest renders it for `cfg` (a per-customer URL for a placeholder uuid)."""
    urls = {}
    for stream in resolved_manifest()["streams"]:
        requester = stream["retriever"]["requester"]
        requester = requester.get("requester", requester)  # the HttpRequester a SharedPagesRequester holds
        url = InterpolatedString.create(requester["url"], parameters=stream.get("$parameters", {}))
        urls[stream["name"]] = url.eval(cfg, stream_slice={"customer_uuid": "cus_x"})
    return urls


def test_by_default_every_stream_reads_api_chartmogul_com_over_https_the_only_allowed_host():
    urls = _rendered_urls(config())

    assert set(urls) == set(stream_names())
    assert all(url.startswith("https://api.chartmogul.com/v1/") for url in urls.values()), urls
    metadata = yaml.safe_load((ROOT / "metadata.yaml").read_text())
    assert metadata["data"]["allowedHosts"]["hosts"] == ["api.chartmogul.com"]


def test_a_loopback_base_url_points_every_stream_at_the_simulation():
    urls = _rendered_urls(config(api_base_url="http://127.0.0.1:8765"))

    assert all(url.startswith("http://127.0.0.1:8765/v1/") for url in urls.values()), urls


def test_given_the_simulation_on_loopback_when_read_with_its_address_then_records_come_from_it():
    account = Dataset.generate(customers=450, activities=0, metric_days=5)

    with SimulatedChartMogul(account, API_KEY) as simulation:
        output = run_cli("read", config(api_base_url=simulation.url), catalog("customers"))

    assert not output.errors
    assert [m.record.data["uuid"] for m in output.records] == [r["uuid"] for r in account.routes["customers"].records]
    assert [path for _, path, _, _ in simulation.stats.log] == ["/v1/customers"] * 3  # three pages of 200


@pytest.mark.parametrize("value", [
    "https://api.chartmogul.example",      # another host, even over HTTPS
    "http://10.0.0.5:8765",                 # a private address is not loopback
    "http://localhost:80@evil.example",     # user info: the host would be evil.example
    "http://127.0.0.1.evil.example:8765",   # a host name that starts like the loopback address
    "http://127.0.0.1:8765/v2",             # anything after the port
    "http://127.0.0.1",                     # no port
])
@pytest.mark.parametrize("command", ["check", "discover", "read"])
def test_a_base_url_other_than_a_loopback_address_is_refused_before_any_request(http_mocker, command, value):
    output = run_cli(command, config(api_base_url=value), catalog("customers") if command == "read" else None)

    expected = (f"Config error: 'API base URL (local simulation only)' (api_base_url) is not valid: {value!r} is not in "
                "the format http://127.0.0.1:<port>, a loopback address (remove the setting to read api.chartmogul.com).")
    if command == "check":
        (status,) = [m.connectionStatus for m in output.connection_status_messages]
        assert status.status == Status.FAILED and status.message.startswith(expected), status.message
    else:
        error = output.errors[0].trace.error
        assert error.failure_type == FailureType.config_error and error.message.startswith(expected), error.message
    assert sent_requests(http_mocker) == []
