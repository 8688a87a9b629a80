"""Airbyte source for ChartMogul: a declarative manifest run by airbyte-cdk."""

from typing import Any

__all__ = ["SourceChartmogul"]


def __getattr__(name: str) -> Any:
    """`SourceChartmogul` is imported when first asked for, not with the package: importing the CDK takes over a
    second, and `source-chartmogul-duckdb` must have installed its Ctrl-C handling before that (benchmarks/
    interrupt_stress.py: a Ctrl-C in that second ended it with a traceback instead of exit 130)."""
    if name == "SourceChartmogul":
        from .source import SourceChartmogul

        return SourceChartmogul
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
