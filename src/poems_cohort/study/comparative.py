"""The comparative analysis of survival: covariates, propensity scores and IPTW weights, balance,
hazard ratios (unadjusted, risk-stratified, multivariable, IPTW) with their proportional-hazards
tests, RMST, weighted curves and tests, and the regimen × risk-group interaction.

Every model is fitted with the generic ``stats`` functions; this module only chooses the data.
The patient-level columns it uses are exported in the analysis dataset (``mv_*``, ``ps_*``,
``iptw_weight``) so that each number can be recomputed from that file alone.
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from poems_cohort import stats
from poems_cohort.study._common import in_subgroup
from poems_cohort.study.comparative_plan import COVARIATES, DEFAULT_PS_COVARIATES, TABLE1_CANDIDATES
from poems_cohort.study.names import SURVIVAL_ENDPOINTS
from poems_cohort.study.plan import AnalysisPlan

#: the four models of the hazard ratios
UNADJUSTED, STRATIFIED, MULTIVARIABLE, IPTW = ("unadjusted", "risk-stratified", "multivariable",
                                               "iptw")
MODELS: tuple[str, ...] = (UNADJUSTED, STRATIFIED, MULTIVARIABLE, IPTW)

HR_COLUMNS = ["endpoint", "subgroup", "model", "term", "hr", "ci_low", "ci_high", "p_value", "n",
              "events", "note"]
PH_COLUMNS = ["endpoint", "subgroup", "model", "term", "chisq", "df", "p_value"]
RMST_COLUMNS = ["endpoint", "subgroup", "regimen", "n", "events", "tau", "rmst", "se", "diff",
                "diff_ci_low", "diff_ci_high", "p_value", "last_time", "held_flat"]
BALANCE_COLUMNS = ["covariate", "regimen", "mean_regimen", "mean_reference",
                   "weighted_mean_regimen", "weighted_mean_reference", "sd_pooled",
                   "smd_unweighted", "smd_weighted"]
WEIGHTED_TEST_COLUMNS = ["endpoint", "subgroup", "test", "statistic", "df", "p_value"]
INTERACTION_COLUMNS = ["endpoint", "model", "modifier", "statistic", "df", "p_value"]
#: ``n_risk`` is weighted (the sum of the weights at risk), ``n_patients`` the patients at risk
WEIGHTED_CURVE_COLUMNS = ["endpoint", "subgroup", "group", "time", "n_risk", "n_patients",
                          "value", "lower", "upper"]

#: the p-value below which proportional hazards is called rejected
PH_ALPHA = 0.05


def _num(frame: pd.DataFrame, column: str) -> pd.Series:
    if column not in frame.columns:
        return pd.Series(np.nan, index=frame.index, dtype=float)
    return pd.to_numeric(frame[column], errors="coerce").astype(float)


def _binary(hit: pd.Series, known: pd.Series) -> pd.Series:
    return pd.Series(np.where(known, hit.astype(bool), np.nan), index=hit.index, dtype=float)


def _cut(column: str, op: str, threshold: float) -> Callable[[pd.DataFrame], pd.Series]:
    def rule(f: pd.DataFrame) -> pd.Series:
        x = _num(f, column)
        return _binary(x > threshold if op == ">" else x < threshold, x.notna())
    return rule


def _yes(column: str) -> Callable[[pd.DataFrame], pd.Series]:
    def rule(f: pd.DataFrame) -> pd.Series:
        if column not in f.columns:
            return pd.Series(np.nan, index=f.index, dtype=float)
        s = f[column].astype("boolean")
        return _binary(s.fillna(False), s.notna())
    return rule


def _equals(column: str, value: str) -> Callable[[pd.DataFrame], pd.Series]:
    def rule(f: pd.DataFrame) -> pd.Series:
        s = f[column] if column in f.columns else pd.Series(pd.NA, index=f.index)
        return _binary((s == value).fillna(False), s.notna())
    return rule


def _log_vegf(f: pd.DataFrame) -> pd.Series:
    x = _num(f, "vegf_pg_ml")
    return pd.Series(np.log(x.where(x > 0)), index=f.index, dtype=float)


#: how each covariate of the catalogue is read from the baseline frame (numeric, NaN = missing)
RULES: dict[str, Callable[[pd.DataFrame], pd.Series]] = {
    "age": lambda f: _num(f, "age"),
    "onls": lambda f: _num(f, "onls"),
    "log_vegf": _log_vegf,
    "albumin": lambda f: _num(f, "albumin_g_l"),
    "egfr": lambda f: _num(f, "egfr"),
    "spe": lambda f: _num(f, "spe_g_l"),
    "bmpc": lambda f: _num(f, "bmpc_pct"),
    "urine_protein": lambda f: _num(f, "urine_protein_g_24h"),
    "male": _equals("sex", "M"),
    "age_over_50": _cut("age", ">", 50),
    "pulmonary_hypertension": _yes("pulmonary_hypertension"),
    "pleural_effusion": _yes("pleural_effusion"),
    "egfr_below_30": _cut("egfr", "<", 30),
    "onls_over_4": _cut("onls", ">", 4),
    "hepatomegaly": _yes("hepatomegaly"),
    "splenomegaly": _yes("splenomegaly"),
    "lymphadenopathy": _yes("lymphadenopathy"),
    "iga_heavy_chain": _equals("heavy_chain", "IgA"),
    "spe_over_5": _cut("spe_g_l", ">", 5),
    "bmpc_over_10": _cut("bmpc_pct", ">", 10),
    "angioma": _yes("angioma"),
    "peripheral_edema": _yes("peripheral_edema"),
    "ascites": _yes("ascites"),
    "castleman": _yes("castleman"),
    "papilledema": _yes("papilledema"),
    "osteosclerosis": _yes("osteosclerosis"),
    "albumin_below_30": _cut("albumin_g_l", "<", 30),
    "urine_protein_over_1": _cut("urine_protein_g_24h", ">", 1),
    "vegf_over_4000": _cut("vegf_pg_ml", ">", 4000),
}
assert set(RULES) == set(COVARIATES)


class _Columns:
    """Records every name looked up in it and holds none (see :func:`rule_columns`)."""

    def __init__(self) -> None:
        self.asked: set[str] = set()

    def __contains__(self, name: object) -> bool:
        self.asked.add(str(name))
        return False


class _Probe:
    """A frame of no rows and no columns that records which columns a rule looks for."""

    def __init__(self) -> None:
        self.columns = _Columns()
        self.index = pd.RangeIndex(0)

    def __getitem__(self, name: str) -> pd.Series:
        self.columns.asked.add(name)
        return pd.Series(pd.NA, index=self.index, dtype=object)


def rule_columns() -> frozenset[str]:
    """The baseline columns any rule of :data:`RULES` reads: every rule asks whether its column
    is there before reading it, so a probe frame without columns collects them. The comparative
    analyses merge only these columns into the analysis rows instead of the whole baseline."""
    probe = _Probe()
    for rule in RULES.values():
        rule(probe)
    return frozenset(probe.columns.asked)


def covariate_values(baseline: pd.DataFrame, names: tuple[str, ...] | list[str]) -> pd.DataFrame:
    """The catalogue covariates ``names`` per patient of ``baseline`` (numeric, NaN missing)."""
    return pd.DataFrame({n: RULES[n](baseline).to_numpy() for n in names}, index=baseline.index)


def _covariate_column(baseline: pd.DataFrame, name: str) -> pd.Series:
    """Covariate ``name`` of ``baseline`` as :func:`covariate_values` gives its column."""
    return pd.Series(RULES[name](baseline).to_numpy(), index=baseline.index, name=name)


def propensity_covariate_names(baseline: pd.DataFrame, plan: AnalysisPlan) -> tuple[str, ...]:
    """The propensity model's covariates: the plan's, or the default rule (the named defaults,
    then each Table 1 candidate with less than ``propensity_max_missing`` missing)."""
    c = plan.comparative
    if c.propensity_covariates:
        return tuple(c.propensity_covariates)
    extra = [n for n in TABLE1_CANDIDATES
             if len(baseline) and RULES[n](baseline).isna().mean() < c.propensity_max_missing]
    return (*DEFAULT_PS_COVARIATES, *extra)


@dataclass(frozen=True, slots=True)
class Propensity:
    """The propensity model and its weights.

    ``design``: the design columns as used (after the missing-data rule, without prefix);
    ``probabilities``: P(regimen) per patient, one column per regimen; ``weights``: the IPTW
    weight per patient; ``summary``: the weights per regimen (n, sum, min, max, mean, ess).
    """

    covariates: tuple[str, ...]
    design: pd.DataFrame
    dropped: tuple[tuple[str, str], ...]
    probabilities: pd.DataFrame
    weights: np.ndarray
    summary: pd.DataFrame
    converged: bool
    lr_test: tuple[float, int, float]
    notes: tuple[str, ...]

    def to_dict(self) -> dict[str, object]:
        from poems_cohort.study.results import records

        stat, df, p = self.lr_test
        return {"covariates": list(self.design.columns),
                "source_covariates": list(self.covariates),
                "dropped": [{"covariate": c, "reason": r} for c, r in self.dropped],
                "weights": records(self.summary),
                "converged": self.converged,
                "likelihood_ratio": {"statistic": stat, "df": df, "p_value": p},
                "notes": list(self.notes)}


def _covariate_design(frame: pd.DataFrame, names: tuple[str, ...],
                      keep: Sequence[str] | None = None
                      ) -> tuple[pd.DataFrame, list[tuple[str, str]]]:
    """The design columns of the covariates ``names`` of ``frame`` (before the separation
    check; ``keep``: only these) and the covariates the missing-data rule dropped."""
    continuous = [n for n in names if COVARIATES[n][0] == "continuous"]
    categorical = [n for n in names if COVARIATES[n][0] == "binary"]
    # each covariate computed when the design reads it, as covariate_values would give it (the
    # same rule, the same values): never a frame of them all beside the design
    columns = {n: functools.partial(_covariate_column, frame, n) for n in names}
    design = stats.covariate_design_from(columns, frame.index, continuous=continuous,
                                         categorical=categorical, keep=keep)
    # design.frame, not to_frame() (a copy): copy-on-write keeps the design's own intact
    return design.frame, list(design.dropped)


def propensity_design(frame: pd.DataFrame, prop: Propensity,
                      columns: Sequence[str]) -> pd.DataFrame:
    """The design ``prop`` was fitted on (its ``columns``), built again from ``frame``, the
    frame it was fitted from: the same computation on the same values, so the same numbers.
    The study lets the design go while the Cox models are fitted (at 10⁷ patients it is
    about 2 GB) and builds it again for the analysis dataset's ``ps_*`` columns."""
    # only the columns kept (without those separation dropped), built as they are: not the
    # whole design and a selection's copy of it (two designs at once, 170 bytes a patient each)
    x, _ = _covariate_design(frame, prop.covariates, keep=list(columns))
    return x.set_axis(frame.index)


def fit_propensity(frame: pd.DataFrame, plan: AnalysisPlan) -> Propensity:
    """Multinomial logistic regression of regimen on the propensity covariates of ``frame`` (the
    analysis rows merged with the baseline), ATE weights 1/P(received), optionally stabilised and
    truncated as the plan says."""
    c = plan.comparative
    names = propensity_covariate_names(frame, plan)
    x, dropped = _covariate_design(frame, names)
    levels = (plan.reference, *[r for r in plan.regimens if r != plan.reference])
    present = [r for r in levels if (frame["regimen"] == r).any()]
    regimen = frame["regimen"].to_numpy(dtype=object)
    separated: list[str] = []
    for col in list(x.columns):
        v = x[col].to_numpy(float)
        if not np.isin(v, (0.0, 1.0)).all():
            continue
        for value in (1.0, 0.0):
            arms = pd.unique(regimen[v == value])
            if len(arms) == 1 and len(present) > 1:
                dropped.append((col, f"all patients with {col} = {value:g} received "
                                f"{arms[0]} (separation)"))
                separated.append(col)
                break
    if separated:
        # the design without those columns built again (the same values), after this one is
        # let go: dropping them would copy the rest beside it (two designs at once)
        keep = [col for col in x.columns if col not in separated]
        del x, v
        x, _ = _covariate_design(frame, names, keep=keep)
    notes: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = stats.multinomial_logit(x, regimen, levels=present)
        w = stats.iptw_weights(regimen, model,
                               stabilized=c.stabilized,
                               truncate=((float(c.truncation[0]), float(c.truncation[1]))
                                         if c.truncation else None))
    notes += [str(m.message) for m in caught]
    probs = model.probabilities()
    probs.index = frame.index
    summary = w.summary()
    summary = (summary.rename(columns={"arm": "regimen"}) if "arm" in summary.columns
               else summary.rename_axis("regimen").reset_index()).reset_index(drop=True)
    return Propensity(covariates=tuple(names), design=x.set_axis(frame.index),
                      dropped=tuple(dropped), probabilities=probs,
                      weights=np.asarray(w.weights, dtype=float), summary=summary,
                      converged=bool(model.converged),
                      lr_test=tuple(model.likelihood_ratio_test),  # type: ignore[arg-type]
                      notes=tuple(notes))


def balance(prop: Propensity, frame: pd.DataFrame, plan: AnalysisPlan) -> pd.DataFrame:
    """Standardised mean differences of every design column, each regimen vs the reference,
    before and after weighting (cobalt's pooled unweighted denominator)."""
    tab = stats.balance_table(prop.design, frame["regimen"].to_numpy(dtype=object), prop.weights,
                              reference=plan.reference,
                              levels=[r for r in plan.regimens
                                      if (frame["regimen"] == r).any()]).to_frame()
    tab = tab.reset_index() if "covariate" not in tab.columns else tab
    ren = {"group": "regimen", "mean_group": "mean_regimen",
           "weighted_mean_group": "weighted_mean_regimen"}
    tab = tab.rename(columns=ren)
    return tab[[c for c in BALANCE_COLUMNS if c in tab.columns]].reset_index(drop=True)


def _regimen_factor(d: pd.DataFrame, plan: AnalysisPlan) -> pd.Series:
    order = [plan.reference, *[r for r in plan.regimens if r != plan.reference]]
    present = [r for r in order if (d["regimen"] == r).any()]
    return pd.Series(pd.Categorical(d["regimen"], categories=present), index=d.index)


@dataclass(frozen=True, slots=True)
class _Model:
    fit: stats.CoxResult | None
    n: int
    events: int
    note: str
    #: the regimen hazard ratios can be reported (converged, or only an adjustment covariate
    #: diverged)
    usable: bool = False


def _fit_model(d: pd.DataFrame, t: str, e: str, model: str, mv: list[str]) -> _Model:
    """One Cox model on ``d`` (columns regimen as a factor, t, e, risk_group, mv_*, iptw_weight)."""
    if model == STRATIFIED:
        d = d[d["risk_group"].notna()]
    if model == MULTIVARIABLE:
        d = d.dropna(subset=mv)
    n, events = len(d), int(d[e].sum()) if len(d) else 0
    if n == 0 or d["regimen"].nunique() < 2 or events == 0:
        return _Model(None, n, events, "not estimable: fewer than two regimens or no events")
    d = d.assign(regimen=pd.Categorical(d["regimen"].astype(str),
                                        categories=[c for c in d["regimen"].cat.categories
                                                    if (d["regimen"] == c).any()]))
    covs = ["regimen"]
    note = ""
    if model == MULTIVARIABLE:
        used = [c for c in mv if d[c].nunique() > 1]
        if len(used) < len(mv):
            note = "constant in this subgroup, left out: " + ", ".join(
                c for c in mv if c not in used)
        covs += used
    kw: dict[str, object] = {}
    if model == STRATIFIED:
        kw["strata"] = "risk_group"
    if model == IPTW:
        kw["weights"] = "iptw_weight"
        kw["robust"] = True
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = stats.cox_ph(d, t, e, covs, ties="efron", **kw)  # type: ignore[arg-type]
    except (ValueError, np.linalg.LinAlgError) as exc:
        return _Model(None, n, events, f"not estimable: {exc}")
    if fit.singular or fit.no_information:
        # R's NA coefficients: a column the events carry no information on (also when the fit
        # ran out of iterations, where R reports it as 0)
        terms = [x for x in fit.names if x.startswith("regimen")]
        empty = set(fit.singular) | set(fit.no_information)
        if empty & set(terms):
            # e.g. no patient of a regimen (or of the reference) at risk at any event: the
            # remaining hazard ratios would compare other regimens than their labels say
            return _Model(None, n, events, "not estimable: the events carry no information on "
                          f"{', '.join(x for x in terms if x in empty)} (no "
                          "patient of that regimen, or of the reference, at risk at any event)")
        left = ("no information in this subgroup, left out: "
                f"{', '.join(x for x in fit.names if x in empty)}")
        note = f"{note}; {left}" if note else left
    if not fit.converged:
        regimen_terms = {x for x in fit.names if x.startswith("regimen")}
        if fit.infinite and not regimen_terms & set(fit.infinite):
            # only an adjustment covariate diverges (e.g. every event in one of its levels):
            # the regimen coefficients are finite and are reported, as R's coxph does
            diverged = (f"{', '.join(fit.infinite)}: coefficient may be infinite (monotone "
                        "likelihood); the regimen hazard ratios are estimated with it in the "
                        "model")
            return _Model(fit, n, events, f"{note}; {diverged}" if note else diverged,
                          usable=True)
        return _Model(fit, n, events, "did not converge (an arm without events): "
                      "hazard ratio not estimable")
    return _Model(fit, n, events, note, usable=True)


def _nan3() -> tuple[float, float, float]:
    return (math.nan, math.nan, math.nan)


@dataclass(frozen=True, slots=True)
class HazardRatios:
    """Hazard ratios, proportional-hazards tests, RMST, weighted tests and curves, interaction
    tests (see ``docs/study.md`` for the columns)."""

    hazard_ratios: pd.DataFrame
    ph_tests: pd.DataFrame
    rmst: pd.DataFrame
    weighted_tests: pd.DataFrame
    weighted_curves: pd.DataFrame
    interaction: pd.DataFrame


def compute_hazard_ratios(data: pd.DataFrame, plan: AnalysisPlan, mv: list[str]
                          ) -> HazardRatios:
    """Every Cox model, RMST and weighted analysis of PFS and OS, on every subgroup of the plan.

    ``data``: the analysis rows with ``regimen``, ``risk_group``, the endpoints, ``mv_*`` columns
    and ``iptw_weight``."""
    hr_rows: list[dict[str, object]] = []
    ph_rows: list[dict[str, object]] = []
    rmst_rows: list[dict[str, object]] = []
    wt_rows: list[dict[str, object]] = []
    curve_parts: list[pd.DataFrame] = []
    inter_rows: list[dict[str, object]] = []
    tau = plan.comparative.tau_months
    # a slim numeric frame: the models are fitted many times and the analysis dataset's text
    # columns would be copied with every subset
    cols = [c for _, t, e in SURVIVAL_ENDPOINTS for c in (t, e)]
    data = pd.DataFrame({
        "regimen": data["regimen"].astype(object).to_numpy(),
        "risk_group": data["risk_group"].astype(object).where(data["risk_group"].notna(),
                                                               None).to_numpy(),
        **{c: pd.to_numeric(data[c], errors="coerce").to_numpy(float) for c in cols},
        **{c: data[c].to_numpy(float) for c in mv},
        "iptw_weight": data["iptw_weight"].to_numpy(float),
        # the columns of the plan's subgroups on other columns (e.g. a centre)
        **{c: data[c].astype(object).to_numpy() for c in dict.fromkeys(
            sg.column for sg in plan.subgroups if sg.values is not None)
           if c not in ("regimen", "risk_group") and c in data.columns}}, index=data.index)
    for label, t, e in SURVIVAL_ENDPOINTS:
        for sg in plan.subgroups:
            d = in_subgroup(data, sg)
            d = d.assign(regimen=_regimen_factor(d, plan))
            others = [r for r in plan.regimens if r != plan.reference]
            has_reference = bool((d["regimen"] == plan.reference).any())
            for model in MODELS:
                # without the reference regimen another one would silently become the baseline
                m = (_fit_model(d, t, e, model, mv) if has_reference else
                     _Model(None, len(d), int(d[e].sum()),
                            f"not estimable: no {plan.reference} patient in this subgroup"))
                for r in others:
                    name = f"regimen{r}"
                    if m.fit is not None and m.usable and name in m.fit.names:
                        j = m.fit.names.index(name)
                        hr, lo, hi, p = (float(m.fit.exp_coef[j]), float(m.fit.lower[j]),
                                         float(m.fit.upper[j]), float(m.fit.p_value[j]))
                        note = m.note
                    else:
                        hr, lo, hi = _nan3()
                        p = math.nan
                        note = m.note or f"no {r} patient in this subgroup"
                    hr_rows.append({"endpoint": label, "subgroup": sg.name, "model": model,
                                    "term": r, "hr": hr, "ci_low": lo, "ci_high": hi,
                                    "p_value": p, "n": m.n, "events": m.events, "note": note})
                if m.fit is not None and m.usable:
                    try:
                        zph = m.fit.proportional_hazards_test(
                            "km", drop_infinite=True).to_frame()
                    except (ValueError, np.linalg.LinAlgError):
                        zph = None
                    if zph is not None:
                        for term, row in zph.iterrows():
                            ph_rows.append({"endpoint": label, "subgroup": sg.name,
                                            "model": model,
                                            "term": str(term),
                                            "chisq": float(row["statistic"]),
                                            "df": int(row["df"]), "p_value": float(row["p_value"])})
                    if model == IPTW and m.fit.robust_score_test is not None:
                        rs = m.fit.robust_score_test
                        wt_rows.append({"endpoint": label, "subgroup": sg.name,
                                        "test": "robust score (weighted log-rank)",
                                        "statistic": rs.statistic, "df": rs.df,
                                        "p_value": rs.p_value})
                # a fit holds its sorted copy of the data: let it go before the next one
                del m
            present = [r for r in plan.regimens if (d["regimen"] == r).any()]
            if plan.reference in present and len(d):
                rm = stats.rmst_comparison(d[t].to_numpy(float), d[e].to_numpy(int),
                                           d["regimen"].astype(str).to_numpy(dtype=object), tau,
                                           reference=plan.reference,
                                           conf_level=plan.confidence_level).table
                for r in present:
                    row = rm[rm["group"] == r].iloc[0]
                    # the curve is held flat from its last time to tau (survfit's rmean; R's
                    # survRM2 refuses such a tau): flagged, so a reader sees the extrapolation
                    last = float(d.loc[d["regimen"] == r, t].max())
                    rmst_rows.append({"endpoint": label, "subgroup": sg.name, "regimen": r,
                                      "n": int(row["n"]), "events": int(row["events"]),
                                      "tau": tau, "rmst": float(row["rmst"]),
                                      "se": float(row["se"]), "diff": float(row["diff"]),
                                      "diff_ci_low": float(row["diff_lower"]),
                                      "diff_ci_high": float(row["diff_upper"]),
                                      "p_value": float(row["p_value"]),
                                      "last_time": last, "held_flat": bool(tau > last)})
            for r in present if sg.risk_groups is None else ():  # drawn for everyone only
                rows = d[d["regimen"] == r]
                km = stats.kaplan_meier(rows[t].to_numpy(float), rows[e].to_numpy(int),
                                        weights=rows["iptw_weight"].to_numpy(float),
                                        conf_level=plan.confidence_level, conf_type="log-log")
                tab = km.table
                own = np.sort(rows[t].to_numpy(float))
                at = len(own) - np.searchsorted(own, tab["time"].to_numpy(float), side="left")
                curve_parts.append(pd.DataFrame({
                    "n_patients": np.r_[len(own), at],
                    "endpoint": label, "subgroup": sg.name, "group": r,
                    "time": np.r_[0.0, tab["time"]], "n_risk": np.r_[km.n_risk[0] if len(tab)
                                                                       else 0, tab["n_risk"]],
                    "value": np.r_[1.0, tab["surv"]], "lower": np.r_[1.0, tab["lower"]],
                    "upper": np.r_[1.0, tab["upper"]]}))
            del d  # the subgroup's rows, before the next subgroup's (or the interaction test)
        # the interaction test reads four columns: only those are subset
        whole = data[["regimen", "risk_group", t, e]]
        whole = whole[whole["risk_group"].notna()]
        whole = whole.assign(regimen=_regimen_factor(whole, plan),
                             risk_group=pd.Categorical(whole["risk_group"],
                                                       categories=[g for g in ("low", "medium",
                                                                               "high")
                                                                   if (whole["risk_group"] == g)
                                                                   .any()]))
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                it = stats.cox_interaction_test(whole, t, e, "regimen", "risk_group")
            inter_rows.append({"endpoint": label, "model": UNADJUSTED, "modifier": "risk group",
                               "statistic": it.statistic, "df": it.df, "p_value": it.p_value})
            del it
        except (ValueError, np.linalg.LinAlgError):
            inter_rows.append({"endpoint": label, "model": UNADJUSTED, "modifier": "risk group",
                               "statistic": math.nan, "df": math.nan, "p_value": math.nan})
        del whole
    curves = (pd.concat(curve_parts, ignore_index=True) if curve_parts
              else pd.DataFrame(columns=WEIGHTED_CURVE_COLUMNS))
    return HazardRatios(
        hazard_ratios=pd.DataFrame(hr_rows, columns=HR_COLUMNS),
        ph_tests=pd.DataFrame(ph_rows, columns=PH_COLUMNS),
        rmst=pd.DataFrame(rmst_rows, columns=RMST_COLUMNS),
        weighted_tests=pd.DataFrame(wt_rows, columns=WEIGHTED_TEST_COLUMNS),
        weighted_curves=curves[WEIGHTED_CURVE_COLUMNS],
        interaction=pd.DataFrame(inter_rows, columns=INTERACTION_COLUMNS))
