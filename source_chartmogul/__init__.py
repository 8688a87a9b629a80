"""Airbyte source for ChartMogul: a declarative manifest run by airbyte-cdk."""

from .source import SourceChartmogul

__all__ = ["SourceChartmogul"]
