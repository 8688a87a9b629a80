"""The manifest's streams as the CDK runs them: the manifest after $ref resolution and $parameters propagation, built
with the acceptance assets' sample config (integration_tests/sample_config.json)."""

import functools
import json
from typing import Any, Dict, List

from source_chartmogul.source import SourceChartmogul
from testkit.connector import ROOT

SAMPLE_CONFIG = ROOT / "integration_tests" / "sample_config.json"


def sample_config() -> Dict[str, Any]:
    return json.loads(SAMPLE_CONFIG.read_text())


@functools.lru_cache(maxsize=None)
def resolved_manifest() -> Dict[str, Any]:
    """The manifest after $ref resolution and $parameters propagation, as the CDK runs it."""
    return SourceChartmogul(config=sample_config()).resolved_manifest


def stream_names() -> List[str]:
    return [stream["name"] for stream in resolved_manifest()["streams"]]
