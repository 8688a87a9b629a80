"""Test-only: send this process's requests for https://api.chartmogul.com to the simulation on 127.0.0.1.

For tests (and the benchmark) that run the connector in-process with configs that name no `api_base_url`: the
acceptance assets' sample config, a manifest from before that setting, a host that must not resolve. The product
itself reaches the simulation only through the hidden, loopback-only `api_base_url` setting (docs/chartmogul.md).
"""

import contextlib
from typing import Iterator

import requests

CHARTMOGUL = "https://api.chartmogul.com"


@contextlib.contextmanager
def redirect_chartmogul(base_url: str) -> Iterator[None]:
    """Send this process's requests for https://api.chartmogul.com to `base_url` instead."""
    original = requests.adapters.HTTPAdapter.send

    def send(adapter, request, *args, **kwargs):  # type: ignore[no-untyped-def]
        if request.url.startswith(CHARTMOGUL):
            request.url = base_url + request.url[len(CHARTMOGUL):]
        return original(adapter, request, *args, **kwargs)

    requests.adapters.HTTPAdapter.send = send
    try:
        yield
    finally:
        requests.adapters.HTTPAdapter.send = original
