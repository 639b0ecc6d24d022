"""Presentation of fitted models: summaries as data, and their text and HTML renderings."""

from mixedfx.report.summary import LmerSummary

__all__ = ["LmerSummary"]
