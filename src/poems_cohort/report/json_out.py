"""``results.json``: every number of the study at full precision, under stable keys.

Compact: no indentation and no space after separators (one line; consumers parse it, and
``python -m json.tool`` or ``jq .`` indents it for reading), keys sorted, so the same study
gives the same bytes. Curves are stored at their step vertices (see :func:`curve_vertices`).
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from poems_cohort.study import StudyResults

CURVE_KEYS = ["endpoint", "by", "subgroup", "group"]


def curve_vertices(curves: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``curves`` (``endpoint, by, subgroup, group, time, n_risk, n_event,
    n_censor, value, lower, upper``) where a curve steps (an event), plus each curve's last
    row (the end of its follow-up).

    Rows with censoring only change nothing a reader can plot, so they are dropped and their
    censored patients are added to the next kept row: ``n_censor`` counts the patients
    censored after the previous kept row up to and including this time, and the curve's
    censored total is unchanged. ``n_risk``, ``value`` and the interval of every kept row are
    exact. A curve of a million patients keeps one row per event time instead of one per
    patient.
    """
    if curves.empty:
        return curves
    frame = curves.reset_index(drop=True)
    # one integer per curve (its identifying columns), not a joined text per row
    key = frame.groupby(CURVE_KEYS, sort=False, dropna=False).ngroup().to_numpy()
    last = np.r_[key[1:] != key[:-1], True]
    keep = (frame["n_event"].to_numpy() > 0) | last
    # censored since the previous kept row of the same curve
    csum = frame.groupby(key, sort=False)["n_censor"].cumsum().to_numpy()
    kept = np.flatnonzero(keep)
    prev = np.r_[-1, kept[:-1]]
    same = (prev >= 0) & (key[np.maximum(prev, 0)] == key[kept])
    before = np.where(same, csum[np.maximum(prev, 0)], 0)
    out = frame.iloc[kept].copy()
    out["n_censor"] = (csum[kept] - before).astype(frame["n_censor"].dtype)
    return out.reset_index(drop=True)


def results_dict(results: StudyResults, narrative: str, *, synthetic: bool = False
                 ) -> dict[str, Any]:
    """The document written to ``results.json`` (see ``docs/study.md`` for the keys)."""
    k, s = results.kinetics, results.survival
    at_vertices = replace(results, kinetics=replace(k, curves=curve_vertices(k.curves)),
                          survival=replace(s, curves=curve_vertices(s.curves)))
    doc = at_vertices.to_dict()
    doc["narrative"] = narrative
    doc["cohort"] = {"synthetic": synthetic}
    return doc


def results_json(results: StudyResults, narrative: str, *, synthetic: bool = False) -> bytes:
    """``results.json`` bytes: UTF-8, one line, sorted keys, full-precision floats, null for
    missing, ``"Inf"``/``"-Inf"`` for an infinite value, written in one ``json.dumps`` call."""
    text = json.dumps(results_dict(results, narrative, synthetic=synthetic),
                      separators=(",", ":"), sort_keys=True, ensure_ascii=False,
                      allow_nan=False)
    return (text + "\n").encode("utf-8")
