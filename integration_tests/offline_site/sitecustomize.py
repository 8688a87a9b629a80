"""Test-only: send a connector subprocess's ChartMogul requests to the offline fake.

PyAirbyte runs `source-chartmogul` as a subprocess, which an in-process redirect cannot reach. Tests put this
directory on PYTHONPATH, so Python imports this module at start-up in every process they spawn; it does nothing
unless CHARTMOGUL_FAKE_URL names the fake (e.g. http://127.0.0.1:41234), and then installs the same redirect the
in-process tests use (unit_tests/fake_chartmogul). Never on the path outside tests.
"""

import os
import sys
from pathlib import Path

_FAKE_URL = os.environ.get("CHARTMOGUL_FAKE_URL")

if _FAKE_URL:
    _ROOT = str(Path(__file__).resolve().parents[2])
    if _ROOT not in sys.path:
        sys.path.append(_ROOT)  # after site-packages: only to find unit_tests.fake_chartmogul
    from unit_tests.fake_chartmogul import redirect_chartmogul

    # Kept referenced: a collected context manager would run its `finally` and undo the redirect.
    _REDIRECT = redirect_chartmogul(_FAKE_URL)
    _REDIRECT.__enter__()  # for the life of the process
