"""A mixed model's summary as the user holds it: the data with its text, Markdown and HTML
views (`print`, notebooks)."""

from __future__ import annotations

from dataclasses import dataclass

from mixedfx.report.html import lmer_html
from mixedfx.report.markdown import lmer_markdown
from mixedfx.report.summary_data import LmerSummaryData
from mixedfx.report.text import lmer_text


@dataclass(frozen=True)
class LmerSummary(LmerSummaryData):
    """What lme4's ``summary(lmer(...))`` shows (`LmerSummaryData`); ``str()`` lays it out
    as lme4 prints it."""

    def __str__(self) -> str:
        return lmer_text(self)

    def to_markdown(self) -> str:
        """The summary as Markdown tables."""
        return lmer_markdown(self)

    def _repr_html_(self) -> str:
        return lmer_html(self)
