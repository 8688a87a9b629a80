"""Running this checkout's connector from a test: the test API key, a configured catalog, an in-process run of the
`source-chartmogul` command, and the wheel."""

import io
import json
import subprocess
import sys
import tempfile
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any, Mapping, Optional
from unittest import mock

from airbyte_cdk.models import ConfiguredAirbyteCatalog, ConfiguredAirbyteCatalogSerializer, SyncMode
from airbyte_cdk.test.catalog_builder import CatalogBuilder
from airbyte_cdk.test.entrypoint_wrapper import EntrypointOutput

from source_chartmogul.source import run

# Long and random-looking so that the CDK's masking (by value) touches nothing but the key itself.
API_KEY = "test_cm_Zq8Xw3Lk9Rv2Np7Yt4Mb6Hc1Jd5Fg0SaE"
ROOT = Path(__file__).resolve().parents[1]


def catalog(*streams: str, sync_mode: SyncMode = SyncMode.full_refresh) -> ConfiguredAirbyteCatalog:
    builder = CatalogBuilder()
    for stream in streams:
        builder.with_stream(stream, sync_mode)
    return builder.build()


def run_cli(command: str, cfg: Optional[Mapping[str, Any]] = None, catalog: Optional[ConfiguredAirbyteCatalog] = None,
            state: Optional[list] = None) -> EntrypointOutput:
    """Run `source-chartmogul <command>` in-process, through the same `run()` the console script calls."""
    with tempfile.TemporaryDirectory() as tmp:
        args = [command]
        if cfg is not None:
            (Path(tmp) / "config.json").write_text(json.dumps(cfg))
            args += ["--config", f"{tmp}/config.json"]
        if catalog is not None:
            (Path(tmp) / "catalog.json").write_text(json.dumps(ConfiguredAirbyteCatalogSerializer.dump(catalog)))
            args += ["--catalog", f"{tmp}/catalog.json"]
        if state is not None:
            (Path(tmp) / "state.json").write_text(json.dumps(state))
            args += ["--state", f"{tmp}/state.json"]
        stdout = io.StringIO()
        uncaught = None
        # The CLI's print buffer writes to sys.__stdout__ unless stdout is pytest's own: capture both.
        with redirect_stdout(stdout), mock.patch.object(sys, "__stdout__", stdout):
            try:
                run(args)
            except Exception as exc:  # the CLI re-raises non-config errors after emitting a TRACE message
                uncaught = exc
    lines = [line for line in stdout.getvalue().splitlines() if line.strip()]
    # As the console script's uncaught-exception hook does, an escaping error becomes a TRACE message.
    output = EntrypointOutput(messages=lines, uncaught_exception=uncaught, command=args)
    output.raw = stdout.getvalue() + (str(uncaught) if uncaught else "")
    return output


def build_wheel(folder: Path) -> Path:
    """Build this checkout's wheel into `folder` (no network: the dev extra brings the build backend, poetry-core) and
    return its path: airbyte_source_chartmogul-<version>-py3-none-any.whl, named after the PyPI distribution."""
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(folder), str(ROOT)],
                   check=True, capture_output=True)
    return next(folder.glob("airbyte_source_chartmogul-*.whl"))
