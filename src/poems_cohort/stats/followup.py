"""Median follow-up by the reverse Kaplan–Meier method (censoring as the event of interest).

Equal to R ``summary(survfit(Surv(time, 1 - event) ~ 1))$table`` (median and its limits, by
default with R's ``log`` confidence type).
"""

from __future__ import annotations

from typing import Any

from poems_cohort.stats._common import as_binary_status
from poems_cohort.stats.survival import ConfType, SurvivalSummary, kaplan_meier


def reverse_km_followup(time: Any, event: Any, *, conf_level: float = 0.95,
                        conf_type: ConfType = "log") -> SurvivalSummary:
    """Median potential follow-up: the median of the Kaplan–Meier curve of ``1 − event``.

    Deaths (events) censor the follow-up; a subject still alive at the last contact "fails" at
    that time. ``estimate``, ``lower`` and ``upper`` follow R's print rule; NaN when not reached
    (e.g. when nearly everyone had the event).
    """
    e = as_binary_status("event", event)
    fit = kaplan_meier(time, 1 - e, conf_level=conf_level, conf_type=conf_type)
    med = fit.median()
    return SurvivalSummary(estimate=med.estimate, lower=med.lower, upper=med.upper,
                           conf_level=med.conf_level, conf_type=med.conf_type,
                           label="median follow-up")
