"""Solve the counts behind every percentage of Table 1 and Table 2 and write ``solved_counts.json``.

Run ``python -m poems_cohort.synth.solve [output.json]`` (default: the bundled
``data/published/solved_counts.json``). The structure of the file is documented in
docs/reproduction.md; the method and the choice rules in :mod:`poems_cohort.synth.solver`.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypedDict

from poems_cohort.synth.published import PublishedNumber, PublishedStudy, load_published
from poems_cohort.synth.pvalues import p_value
from poems_cohort.synth.solver import (
    COLUMNS,
    EndpointSolution,
    Relaxation,
    RowSolution,
    choose_endpoint,
    choose_row,
    counts_for_percent,
    diagnose_endpoint,
    diagnose_row,
    nearest_percents,
    solve_partition,
    solve_percent_row,
    solve_response_endpoint,
)

OUTPUT = Path(__file__).resolve().parent.parent / "data" / "published" / "solved_counts.json"
REGIMENS = ("MDex", "ASCT", "LDex")
RISK_ROWS = ("risk_low", "risk_medium", "risk_high")
TABLE1_MAX_MISSING = 15
ENDPOINTS = ("crh", "crv", "crh_crv", "rn")
MIN_EVALUABLE_FRACTION = 0.3
OVERALL_IDS = {"crh": "text.crh.All.percent", "crv": "text.crv.All.percent",
               "crh_crv": "text.crh_crv.All.percent", "rn": "abstract.rn.All.percent"}
GROUP_P_IDS = {"rn": "text.rn.p"}


def _row_counts(sol: RowSolution) -> dict[str, dict[str, int]]:
    out = {r: {"n": n, "N": N} for r, n, N in zip(REGIMENS, sol.n, sol.N, strict=True)}
    out["All"] = {"n": sol.n_all, "N": sol.N_all}
    return out


def solve_risk_groups(study: PublishedStudy) -> dict[str, Any]:
    """Risk group sizes per regimen from Table 1's three risk rows (everyone has a risk group)."""
    sizes = study.regimen_sizes
    per_regimen: dict[str, Any] = {}
    for r in REGIMENS:
        printed = [study[f"table1.{row}.{r}.percent"].printed for row in RISK_ROWS]
        exact = solve_partition(printed, sizes[r])
        if exact:
            per_regimen[r] = {"status": "unique" if len(exact) == 1 else f"chosen-among-{len(exact)}",
                              "options": [list(c) for c in exact]}
            continue
        # one category must give: free each in turn, the others keep their printed percent
        options = []
        for k in range(3):
            fixed = [[n for n, _ in counts_for_percent(p, None, [sizes[r]])] for p in printed]
            for a in fixed[(k + 1) % 3]:
                for b in fixed[(k + 2) % 3]:
                    c = [0, 0, 0]
                    c[(k + 1) % 3], c[(k + 2) % 3], c[k] = a, b, sizes[r] - a - b
                    options.append(c)
        per_regimen[r] = {"status": "impossible", "options": options,
                          "printed": printed,
                          "sum_of_printed": [sum(n for n, _ in counts_for_percent(p, None,
                                                                                   [sizes[r]]))
                                             for p in printed]}
    # choose the combination that reproduces the All column and the three p-values
    import itertools

    best = None
    for combo in itertools.product(*(per_regimen[r]["options"] for r in REGIMENS)):
        ok = True
        for k, row in enumerate(RISK_ROWS):
            n = [c[k] for c in combo]
            if not study[f"table1.{row}.All.percent"].admits(100 * sum(n) / sizes["All"]):
                ok = False
            if not study[f"table1.{row}.p"].admits(p_value("pearson", n, [sizes[r] for r in REGIMENS])):
                ok = False
        if ok:
            best = combo
            break
    if best is None:
        raise RuntimeError("no risk-group split reproduces Table 1")
    result: dict[str, Any] = {}
    for r, counts in zip(REGIMENS, best, strict=True):
        low, medium, high = counts
        entry = {"low": low, "medium": medium, "high": high, "medium_high": medium + high,
                 "status": per_regimen[r]["status"]}
        if per_regimen[r]["status"] == "impossible":
            entry["printed_percents"] = per_regimen[r]["printed"]
            entry["intended_percents"] = [f"{100 * c / sizes[r]:.1f}" for c in counts]
        result[r] = entry
    result["All"] = {k: sum(result[r][k] for r in REGIMENS)
                     for k in ("low", "medium", "high", "medium_high")}
    return result


def solve_table1(study: PublishedStudy) -> dict[str, Any]:
    sizes = [study.regimen_sizes[r] for r in REGIMENS]
    rows = sorted({n.quantity for n in study if n.id.startswith("table1.") and n.id.endswith(".p")},
                  key=lambda q: [n.id for n in study].index(f"table1.{q}.p"))
    out: dict[str, Any] = {}
    for row in rows:
        cells = [study[f"table1.{row}.{r}.percent"] for r in REGIMENS]
        pooled = study[f"table1.{row}.All.percent"]
        p = study[f"table1.{row}.p"]
        smax: list[int]
        smin: list[int]
        if cells[0].denominator is not None:  # fixed denominators (Castleman: biopsied patients)
            smax = _printed_denominators(row, cells)
            smin = smax
            note = "denominators printed (patients with a tissue biopsy)"
        elif row in RISK_ROWS:
            smax, smin = sizes, sizes
            note = "every patient has a risk group: complete denominators"
        else:
            smax = sizes
            smin = [s - TABLE1_MAX_MISSING for s in sizes]
            note = f"denominators searched from N - {TABLE1_MAX_MISSING} to N"
        printed = [c.printed for c in cells]
        sols = solve_percent_row(printed, smax, pooled.printed, p.printed, "pearson",
                                 sizes_min=smin)
        entry: dict[str, Any] = {"printed": dict(zip(REGIMENS, printed, strict=True)) | {
            "All": pooled.printed, "p": p.printed}, "search": note, "test": "pearson",
            "n_solutions": len(sols)}
        if sols:
            best = choose_row(sols, p.printed)
            entry["status"] = "unique" if len(sols) == 1 else f"chosen-among-{len(sols)}"
            entry["counts"] = _row_counts(best)
            entry["p"] = best.p
        else:
            entry["status"] = "impossible"
            relax = diagnose_row(printed, smax, pooled.printed, p.printed, "pearson",
                                 sizes_min=smin, labels=REGIMENS)
            entry["relaxations"] = [
                {"drop": x.dropped, "printed": x.printed, "achieved": x.achieved,
                 "counts": _row_counts(x.solution), "p": p_value("pearson", x.solution.n,
                                                                 x.solution.N)}
                for x in relax]
            entry["nearest"] = {
                r: [f"{n}/{N} = {v:.2f}%" for n, N, v in nearest_percents(c.printed, N0)]
                for r, c, N0 in zip(REGIMENS, cells, smax, strict=True)
                if not counts_for_percent(c.printed, None, range(smin[REGIMENS.index(r)],
                                                                 N0 + 1))}
            full = _at_full_sizes(printed, smax)
            entry["at_full_sizes"] = {
                "counts": _row_counts(full),
                "All_percent": f"{100 * full.n_all / full.N_all:.1f}",
                "p": p_value("pearson", full.n, full.N)}
            if relax:
                p_blamed = any(c.blames(f"table1.{row}.p") for c in study.conflicts)
                chosen = _preferred_relaxation(relax, p_blamed)
                entry["counts"] = _row_counts(chosen.solution)
                entry["p"] = p_value("pearson", chosen.solution.n, chosen.solution.N)
                entry["intended"] = {"drop": chosen.dropped, "value": chosen.achieved}
            else:  # no single printed value explains it: the generator uses complete sizes
                entry["counts"] = entry["at_full_sizes"]["counts"]
                entry["p"] = entry["at_full_sizes"]["p"]
        out[row] = entry
    return out


def _printed_denominators(row: str, cells: Sequence[PublishedNumber]) -> list[int]:
    """The denominators printed for every regimen of a Table 1 row (a row prints them for all
    regimens or for none)."""
    sizes = [c.denominator for c in cells]
    known = [N for N in sizes if N is not None]
    if len(known) != len(sizes):
        raise ValueError(f"table1.{row}: denominators printed for some regimens only: {sizes}")
    return known


def _at_full_sizes(printed: Sequence[str], sizes: Sequence[int]) -> RowSolution:
    """Each regimen's count at its full size whose percent is nearest the printed one."""
    n = tuple(nearest_percents(p, N, k=1)[0][0] for p, N in zip(printed, sizes, strict=True))
    return RowSolution(n, tuple(sizes), None, 0)


def _preferred_relaxation(relax: Sequence[Relaxation[RowSolution]], p_blamed: bool = False
                          ) -> Relaxation[RowSolution]:
    """The value to give up in a row no counts reproduce. When the published record blames the
    row's p-value (a proof that the test cannot print it), the p: every percent stays as
    printed. Otherwise a percent that cannot be printed beats a p that cannot be reproduced:
    prefer relaxing a regimen percent, then the pooled percent, then the p-value."""
    order = {"p": -1 if p_blamed else 2, "All": 1}
    return min(relax, key=lambda x: (order.get(x.dropped, 0), x.solution.missing))


# a Table 2 endpoint's printed values: [regimen][column] -> printed rate or p
_PrintedByRegimen = dict[str, dict[str, str]]


class _EndpointOptions(TypedDict):
    """The search settings ``solve_response_endpoint`` and ``diagnose_endpoint`` share."""

    reference: str
    overall: str
    p_groups: str | None
    p_groups_test: str
    min_fraction: float


def _endpoint_inputs(study: PublishedStudy, endpoint: str
                     ) -> tuple[_PrintedByRegimen, _PrintedByRegimen]:
    rates = {r: {c: study[f"table2.{endpoint}.{c}.{r}.rate"].printed for c in COLUMNS}
             for r in ("ASCT", "MDex", "LDex")}
    ps = {r: {c: study[f"table2.{endpoint}.{c}.{r}.p"].printed for c in COLUMNS}
          for r in ("MDex", "LDex")}
    return rates, ps


def _cells_json(sol: EndpointSolution) -> dict[str, Any]:
    return {r: {c: {"n": x.n, "N": x.N} for c, x in cells.items()} for r, cells in sol.cells.items()}


def _p_json(sol: EndpointSolution, ps: _PrintedByRegimen) -> dict[str, Any]:
    out = {}
    for (r, c), values in sol.p.items():
        out[f"{r}.{c}"] = {"printed": ps[r][c], "reproduced_by": list(sol.tests[(r, c)]),
                           **{t: round(v, 6) for t, v in values.items()}}
    return out


def solve_table2(study: PublishedStudy, risk: dict[str, Any]) -> dict[str, Any]:
    sizes = {r: {"low": risk[r]["low"], "medium_high": risk[r]["medium_high"]}
             for r in ("ASCT", "MDex", "LDex")}
    out: dict[str, Any] = {}
    for endpoint in ENDPOINTS:
        rates, ps = _endpoint_inputs(study, endpoint)
        overall = study[OVERALL_IDS[endpoint]].printed
        p_groups = study[GROUP_P_IDS[endpoint]].printed if endpoint in GROUP_P_IDS else None
        kwargs: _EndpointOptions = {
            "reference": "ASCT", "overall": overall, "p_groups": p_groups,
            "p_groups_test": "pearson", "min_fraction": MIN_EVALUABLE_FRACTION}
        sols = solve_response_endpoint(rates, ps, sizes, **kwargs)
        entry: dict[str, Any] = {
            "printed": {"rates": rates, "p": ps, "overall": overall, "p_groups": p_groups},
            "evaluable_search": f"{MIN_EVALUABLE_FRACTION:.0%} to 100% of each risk subgroup",
            "n_solutions": len(sols)}
        if sols:
            best = choose_endpoint(sols, ps)
            entry["status"] = "unique" if len(sols) == 1 else f"chosen-among-{len(sols)}"
            entry["counts"] = _cells_json(best)
            entry["p"] = _p_json(best, ps)
            if best.p_groups is not None:
                entry["p_groups"] = best.p_groups
        else:
            entry["status"] = "impossible"
            relax = diagnose_endpoint(rates, ps, sizes, **kwargs)
            entry["relaxations"] = [{"drop": x.dropped, "printed": x.printed,
                                     "achieved": x.achieved} for x in relax]
            if relax:
                chosen = relax[0]
                entry["intended"] = {"drop": chosen.dropped, "value": chosen.achieved}
                entry["counts"] = _cells_json(chosen.solution)
                entry["p"] = _p_json(chosen.solution, ps)
                n = sum(chosen.solution.cells[r]["all"].n for r in chosen.solution.cells)
                N = sum(chosen.solution.cells[r]["all"].N for r in chosen.solution.cells)
                entry["overall_achieved"] = f"{100 * n / N:.1f}"
        out[endpoint] = entry
    return out


def solve_all(study: PublishedStudy | None = None) -> dict[str, Any]:
    study = study or load_published()
    risk = solve_risk_groups(study)
    return {
        "source": "leukemia-2019.toml",
        "doi": study.doi,
        "regimen_sizes": study.regimen_sizes,
        "rounding": "half up; percents checked in integers, p-values at printed precision",
        "risk_groups": risk,
        "table1": solve_table1(study),
        "table2": solve_table2(study, risk),
    }


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    path = Path(argv[0]) if argv else OUTPUT
    result = solve_all()
    path.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    statuses = [e["status"].split("-")[0] for part in ("table1", "table2")
                for e in result[part].values()]
    print(f"wrote {path}: " + ", ".join(f"{statuses.count(s)} {s}" for s in sorted(set(statuses))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
