"""``results.json``: every number of the study at full precision, under stable keys."""

from __future__ import annotations

import json
from typing import Any

from poems_cohort.study import StudyResults


def results_dict(results: StudyResults, narrative: str, *, synthetic: bool = False
                 ) -> dict[str, Any]:
    """The document written to ``results.json`` (see ``docs/study.md`` for the keys)."""
    doc = results.to_dict()
    doc["narrative"] = narrative
    doc["cohort"] = {"synthetic": synthetic}
    return doc


def results_json(results: StudyResults, narrative: str, *, synthetic: bool = False) -> bytes:
    """``results.json`` bytes: UTF-8, sorted keys, full-precision floats, null for missing."""
    text = json.dumps(results_dict(results, narrative, synthetic=synthetic), indent=1,
                      sort_keys=True,
                      ensure_ascii=False, allow_nan=False)
    return (text + "\n").encode("utf-8")
