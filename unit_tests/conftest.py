import pytest
from airbyte_cdk.sources.streams.http import rate_limiting
from airbyte_cdk.test.mock_http import HttpMocker


@pytest.fixture
def http_mocker():
    """The CDK's HTTP mock; fails the test if a registered response was not requested exactly as often."""
    with HttpMocker() as mocker:
        yield mocker
        mocker._validate_all_matchers_called()


class _RecordedSleeps(list):
    """Stands in for the `time` module of the CDK's retry handler: records waits instead of sleeping."""

    def sleep(self, seconds: float) -> None:
        self.append(seconds)

    def __getattr__(self, name):
        import time

        return getattr(time, name)


@pytest.fixture(autouse=True)
def retry_sleeps(monkeypatch) -> list:
    """Retries and backoff waits happen without wall-clock delay; tests can assert on the waits."""
    sleeps = _RecordedSleeps()
    monkeypatch.setattr(rate_limiting, "time", sleeps)
    return sleeps
