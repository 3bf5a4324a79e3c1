"""Display tables of the comparative analyses (hazard ratios, proportional-hazards tests, RMST,
propensity weights and balance, cumulative incidence of response, landmark analysis, Table 2
effect sizes) and the methods-and-caveats paragraph. Formatting only."""

from __future__ import annotations

import math

import pandas as pd

from poems_cohort.report import format as fmt
from poems_cohort.report.tables import DisplayTable, abbreviations, ci_label
from poems_cohort.study import StudyResults
from poems_cohort.study.comparative_plan import COVARIATES

MODEL_LABELS = {"unadjusted": "Unadjusted", "risk-stratified": "Risk-stratified",
                "multivariable": "Multivariable", "iptw": "IPTW (robust SE)"}
DASH = "–"


def design_label(column: str) -> str:
    """A readable label for a propensity design column: ``male_1`` → ``Male``,
    ``onls_missing`` → ``ONLS score: missing``; other names are returned as they are."""
    if column in COVARIATES:
        return COVARIATES[column][1]
    for suffix, extra in (("_missing", ": missing"), ("_1", "")):
        base = column.removesuffix(suffix)
        if base != column and base in COVARIATES:
            return COVARIATES[base][1] + extra
    return column


def _ci(v: object, lo: object, hi: object, digits: int = 2) -> str:
    if fmt._bad(v):
        return fmt.MISSING
    return f"{fmt.num(v, digits)} ({fmt.num(lo, digits)}{DASH}{fmt.num(hi, digits)})"


def _label(results: StudyResults, subgroup: str) -> str:
    return results.plan.subgroup(subgroup).label()


def hazard_ratio_table(results: StudyResults) -> DisplayTable | None:
    """Each regimen vs the reference, for PFS and OS and every subgroup, under the four models;
    a dagger marks a model whose global proportional-hazards test rejects (p < 0.05)."""
    comp = results.comparative
    if comp is None:
        return None
    hr, ph = comp.survival.hazard_ratios, comp.survival.ph_tests
    glob = ph[ph["term"] == "GLOBAL"].set_index(["endpoint", "subgroup", "model"])["p_value"]
    ci = ci_label(results)
    rows = []
    rejected = False
    for (ep, sg, term), part in hr.groupby(["endpoint", "subgroup", "term"], sort=False):
        row = {"Endpoint": ep, "Subgroup": _label(results, sg),
               f"Regimen (vs {results.plan.reference})": term}
        for _, r in part.iterrows():
            cell = _ci(r["hr"], r["ci_low"], r["ci_high"])
            if cell != fmt.MISSING:
                cell += f"; {fmt.p_text(r['p_value'])}"
                p_ph = glob.get((ep, sg, r["model"]), math.nan)
                if not fmt._bad(p_ph) and float(p_ph) < 0.05:
                    cell += " †"
                    rejected = True
            row[f"HR ({ci}): {MODEL_LABELS[r['model']]}"] = cell
        rows.append(row)
    frame = pd.DataFrame(rows)
    inter = comp.survival.interaction
    inter_text = "; ".join(f"{r['endpoint']} p {fmt.p_value(r['p_value'])}"
                           for _, r in inter.iterrows())
    note = ("Cox proportional hazards (Efron ties); HR of each regimen vs "
            f"{results.plan.reference} with Wald p. Risk-stratified: a baseline hazard per "
            "risk group. Multivariable: the plan's covariates "
            f"({', '.join(results.plan.comparative.covariates)}), complete cases; a covariate "
            "constant within a subgroup is left out there. IPTW: weights 1/P(regimen received) "
            "from the propensity model, robust (sandwich) SE. —: not estimable (an arm "
            "without patients or events). "
            + ("† proportional hazards rejected by cox.zph (global p < 0.05): the hazard ratio "
               "is an average over time; see the restricted mean survival time. "
               if rejected else "")
            + f"Regimen × risk group interaction (likelihood-ratio test): {inter_text}.")
    return DisplayTable("hazard_ratios", "Hazard ratios of progression-free and overall "
                        "survival", frame, note, section="Endpoint",
                        abbreviations=abbreviations(frame, note))


def ph_table(results: StudyResults) -> DisplayTable | None:
    comp = results.comparative
    if comp is None or comp.survival.ph_tests.empty:
        return None
    ph = comp.survival.ph_tests
    ph = ph[ph["subgroup"] == "all"]  # every subgroup's tests are in results.json
    frame = pd.DataFrame({
        "Endpoint": ph["endpoint"],
        "Subgroup": [_label(results, s) for s in ph["subgroup"]],
        "Model": [MODEL_LABELS[m] for m in ph["model"]],
        "Term": ph["term"],
        "Chi-square": [fmt.num(x, 2) for x in ph["chisq"]],
        "df": [str(int(x)) for x in ph["df"]],
        "p": [fmt.p_value(p) + (" †" if p < 0.05 else "") for p in ph["p_value"]],
    })
    note = ("Grambsch–Therneau test of proportional hazards (R cox.zph, Kaplan–Meier "
            "transform), per term and global, all patients; the subgroups' tests are in "
            "results.json (ph_tests) and marked in the hazard-ratio table. † p < 0.05: see the "
            "restricted mean survival time.")
    return DisplayTable("ph_tests", "Proportional-hazards tests, all patients", frame, note,
                        section="Endpoint", abbreviations=abbreviations(frame))


def rmst_table(results: StudyResults) -> DisplayTable | None:
    comp = results.comparative
    if comp is None or comp.survival.rmst.empty:
        return None
    rm = comp.survival.rmst
    ci = ci_label(results)
    tau = results.plan.comparative.tau_months
    frame = pd.DataFrame({
        "Endpoint": rm["endpoint"],
        "Subgroup": [_label(results, s) for s in rm["subgroup"]],
        "Regimen": rm["regimen"],
        "Events/N": [fmt.n_of(e, n) for e, n in zip(rm["events"], rm["n"], strict=True)],
        "RMST, months (SE)": [f"{fmt.num(v, 1)} ({fmt.num(s, 2)})"
                              for v, s in zip(rm["rmst"], rm["se"], strict=True)],
        f"Difference vs {results.plan.reference}, months ({ci})": [
            "" if fmt._bad(d) else _ci(d, lo, hi, 1)
            for d, lo, hi in zip(rm["diff"], rm["diff_ci_low"], rm["diff_ci_high"],
                                 strict=True)],
        "p": ["" if fmt._bad(p) else fmt.p_value(p) for p in rm["p_value"]],
    })
    note = (f"Restricted mean survival time up to {tau:g} months (area under the Kaplan–Meier "
            "curve; R print(survfit, rmean)); difference ± z·√(se₁² + se₀²), z-test. A curve "
            f"ending before {tau:g} months is held flat to it.")
    flat = rm[rm["held_flat"].astype(bool)]
    if len(flat):
        note += (f" Held flat, followed for less than {tau:g} months (an extrapolation; R's "
                 "survRM2 would refuse this horizon): " + "; ".join(
                     f"{e}, {_label(results, s)}, {r} (last time {fmt.num(last, 1)} months)"
                     for e, s, r, last in zip(flat["endpoint"], flat["subgroup"],
                                              flat["regimen"], flat["last_time"],
                                              strict=True)) + ".")
    return DisplayTable("rmst", f"Restricted mean survival time at {tau:g} months", frame,
                        note, section="Endpoint", abbreviations=abbreviations(frame))


def weights_table(results: StudyResults) -> DisplayTable | None:
    comp = results.comparative
    if comp is None or comp.propensity is None:
        return None
    p = comp.propensity
    s = p.summary
    frame = pd.DataFrame({
        "Regimen": s["regimen"], "Patients": [str(int(n)) for n in s["n"]],
        "Sum of weights": [fmt.num(x, 1) for x in s["sum"]],
        "Min": [fmt.num(x, 2) for x in s["min"]], "Max": [fmt.num(x, 2) for x in s["max"]],
        "Mean": [fmt.num(x, 2) for x in s["mean"]],
        "Effective sample size": [fmt.num(x, 1) for x in s["ess"]],
    })
    c = results.plan.comparative
    dropped = "; ".join(f"{col}: {why}" for col, why in p.dropped)
    note = ("Multinomial logistic regression of the regimen on "
            f"{', '.join(p.covariates)} (design columns: {', '.join(p.design.columns)}). "
            "Missing values: a continuous covariate takes the median of the observed values "
            "plus a missing indicator; a categorical one a 'missing' level. "
            + (f"Left out: {dropped}. " if dropped else "")
            + f"ATE weights 1/P(regimen received){', stabilised' if c.stabilized else ''}"
            + (f", truncated at the {c.truncation[0]:g}th and {c.truncation[1]:g}th "
               "percentiles" if c.truncation else "")
            + ". Effective sample size (Σw)²/Σw²."
            + ("" if p.converged else " The propensity model did not converge.")
            + (" " + " ".join(p.notes) if p.notes else ""))
    return DisplayTable("iptw_weights", "Propensity model and IPTW weights", frame, note,
                        abbreviations=abbreviations(frame))


def balance_table(results: StudyResults) -> DisplayTable | None:
    comp = results.comparative
    if comp is None or comp.balance.empty:
        return None
    b = comp.balance
    frame = pd.DataFrame({
        "Covariate": [design_label(c) for c in b["covariate"]],
        "Design column": b["covariate"],
        "Comparison": [f"{r} vs {results.plan.reference}" for r in b["regimen"]],
        "Mean: regimen": [fmt.num(x, 2) for x in b["mean_regimen"]],
        "Mean: reference": [fmt.num(x, 2) for x in b["mean_reference"]],
        "SMD: unweighted": [fmt.num(x, 3) for x in b["smd_unweighted"]],
        "SMD: IPTW": [fmt.num(x, 3) for x in b["smd_weighted"]],
    })
    note = ("Standardised mean difference: (weighted) mean difference over √((s²₁ + s²₀)/2) of "
            "the unweighted groups (cobalt's convention); binary columns as proportions, "
            "p(1 − p). |SMD| < 0.1 is the usual mark of balance.")
    return DisplayTable("balance", "Covariate balance before and after weighting", frame, note,
                        abbreviations=abbreviations(frame))


def incidence_table(results: StudyResults) -> DisplayTable | None:
    comp = results.comparative
    if comp is None or comp.competing.incidence.empty:
        return None
    inc, gray = comp.competing.incidence, comp.competing.gray
    naive = results.kinetics.cumulative
    ci = ci_label(results)
    rows = []
    for (resp, reg), part in inc.groupby(["response", "regimen"], sort=False):
        row = {"Response": resp, "Regimen": reg}
        for _, r in part.iterrows():
            m = float(r["month"])
            row[f"{m:g} months, % ({ci}): cumulative incidence"] = fmt.rate_ci(
                100 * r["estimate"], 100 * r["ci_low"], 100 * r["ci_high"])
            k = naive[(naive["response"] == resp) & (naive["regimen"] == reg)
                      & (naive["month"] == m)]
            row[f"{m:g} months, % ({ci}): 1 − KM (paper)"] = (
                fmt.rate_ci(k["rate"].iloc[0], k["ci_low"].iloc[0], k["ci_high"].iloc[0])
                if len(k) else fmt.MISSING)
        g = gray[gray["response"] == resp]
        row["Gray's test p"] = fmt.p_value(g["p_value"].iloc[0]) if len(g) else fmt.MISSING
        rows.append(row)
    frame = pd.DataFrame(rows)
    note = ("Cumulative incidence (Aalen–Johansen) among evaluable patients, progression or "
            "death before response competing; variance of cmprsk::cuminc, log-log limits; "
            "Gray's test across regimens. The paper's 1 − Kaplan–Meier (death censored) is "
            "shown beside it for the reproduction: it overstates the incidence when patients "
            "die or progress without response.")
    return DisplayTable("cumulative_incidence", "Cumulative incidence of response (competing "
                        "risks)", frame, note, section="Response",
                        abbreviations=abbreviations(frame, note))


def landmark_table(results: StudyResults) -> DisplayTable | None:
    comp = results.comparative
    if comp is None or comp.landmark.table.empty:
        return None
    t = comp.landmark.table
    ci = ci_label(results)
    frame = pd.DataFrame({
        "Endpoint": t["endpoint"],
        "Subgroup": [_label(results, s) for s in t["subgroup"]],
        "Landmark": [f"{m:g} months" for m in t["landmark_months"]],
        "Group": t["group"],
        "Events/N": [fmt.n_of(e, n) for e, n in zip(t["events"], t["n"], strict=True)],
        f"HR vs no CRV ({ci})": [_ci(h, lo, hi) if g == "CRV" else ""
                                for h, lo, hi, g in zip(t["hr"], t["ci_low"], t["ci_high"],
                                                        t["group"], strict=True)],
        "p (Wald)": [fmt.p_value(p) if g == "CRV" else ""
                     for p, g in zip(t["p_value"], t["group"], strict=True)],
        "p (log-rank)": [fmt.p_value(p) if g == "CRV" else ""
                         for p, g in zip(t["logrank_p"], t["group"], strict=True)],
    })
    note = ("Patients evaluable for CRV, alive and progression-free at the landmark; CRV "
            "reached by the landmark vs not; survival counted from the landmark. The "
            "comparison from treatment start (Supplementary Figure 1, as in the paper) is "
            "biased in favour of responders (guarantee-time bias). HR not estimable (—) when a "
            "group has no event after the landmark.")
    return DisplayTable("landmark", "Landmark analysis: CRV and survival", frame, note,
                        section="Endpoint", abbreviations=abbreviations(frame, note))


def effects_table(results: StudyResults) -> DisplayTable | None:
    comp = results.comparative
    if comp is None or comp.effects.empty:
        return None
    e = comp.effects
    ci = ci_label(results)
    frame = pd.DataFrame({
        "Response": e["endpoint"],
        "Subgroup": [_label(results, s) for s in e["subgroup"]],
        "Comparison": [f"{r} vs {results.plan.reference}" for r in e["regimen"]],
        f"Risk difference, % ({ci})": [fmt.rate_ci(100 * d, 100 * lo, 100 * hi) for d, lo, hi
                                      in zip(e["risk_difference"], e["rd_ci_low"],
                                             e["rd_ci_high"], strict=True)],
        f"Odds ratio ({ci})": [_ci(o, lo, hi) for o, lo, hi in
                               zip(e["odds_ratio"], e["or_ci_low"], e["or_ci_high"],
                                   strict=True)],
        "p (Fisher)": [fmt.p_value(p) for p in e["p_value"]],
        "p (Holm)": [fmt.p_value(p) for p in e["p_holm"]],
    })
    note = ("Risk difference with Newcombe's hybrid-score interval; odds ratio as the "
            "conditional maximum-likelihood estimate with its exact interval (R fisher.test); "
            "Holm's adjustment over the regimens compared with the reference, per response "
            "and subgroup.")
    return DisplayTable("table2_effects", "Table 2 effect sizes", frame, note,
                        section="Response", abbreviations=abbreviations(frame))


def comparative_tables(results: StudyResults) -> list[DisplayTable]:
    """Every comparative table the results allow, in report order."""
    out = [effects_table(results), incidence_table(results), landmark_table(results),
           hazard_ratio_table(results), ph_table(results), rmst_table(results),
           weights_table(results), balance_table(results)]
    return [t for t in out if t is not None]


def comparative_methods(results: StudyResults) -> str:
    """The methods and caveats of the comparative analyses (a paragraph)."""
    plan, c = results.plan, results.plan.comparative
    months = " and ".join(f"{m:g}" for m in c.landmarks_months)
    rn_rule = (" and an ONLS was scored after treatment start"
               if plan.rn_evaluable == "assessed" else "")
    crh_crv_rule = ("evaluable for both, or a responder to either"
                    if plan.crh_crv_evaluable == "both-or-responder" else "evaluable for either")
    return (
        "Endpoints: CRH, hematologic complete remission (negative serum and urine "
        "immunofixation and, where free light chains were measured, a normal kappa/lambda "
        "ratio), evaluable when the baseline immunofixation was positive; CRV, VEGF complete "
        f"remission (VEGF below {plan.vegf_normal_below:g} pg/ml), evaluable when the baseline "
        "VEGF was at or above it; RN, neurological remission (ONLS at least one point below "
        f"baseline), evaluable when the baseline ONLS was at least 1{rn_rule}; CRH/CRV, "
        f"either, {crh_crv_rule}. PFS: treatment start to progression or death (censored at "
        "last follow-up); OS: to death from any cause. Risk score: age > 50 years, pulmonary "
        "hypertension, pleural effusion (1 point each), eGFR < 30 ml/min/1.73 m² (2 points); "
        "0 low, 1 medium, ≥ 2 high. "
        f"Hazard ratios of each regimen vs {plan.reference} came from Cox models (Efron ties): "
        "unadjusted, stratified by risk group, multivariable with "
        f"{', '.join(c.covariates)} (complete cases), and weighted by the inverse probability "
        "of treatment (IPTW) with robust standard errors; proportional hazards was checked "
        "with cox.zph, and where rejected the restricted mean survival time up to "
        f"{c.tau_months:g} months is the summary to read. Propensities came from a "
        "multinomial logistic regression on baseline characteristics; a missing continuous "
        "value took the median plus a missing indicator, a missing categorical value a level "
        "of its own; ATE weights"
        f"{' (stabilised)' if c.stabilized else ''} were checked by standardised mean "
        "differences. The weighted log-rank is the robust score test of the weighted Cox "
        "model. Time to response was analysed as cumulative incidence with progression or "
        "death before response as a competing event (Aalen–Johansen, Gray's test). Response "
        f"and survival were related by landmark analyses at {months} months, among patients "
        "alive and progression-free at the landmark. Response rates were compared by risk "
        "differences (Newcombe) and exact conditional odds ratios, with Holm-adjusted "
        "p-values. Multiplicity: apart from the Holm adjustment, p-values are not adjusted "
        "and are exploratory. Limitations: a single-centre retrospective cohort; regimens "
        "were chosen by physicians, so confounding by indication remains after adjustment "
        "for the measured covariates.")


def comparative_sentence(results: StudyResults) -> str:
    """One sentence of the results paragraph: the hazard ratios of each regimen vs the
    reference, unadjusted, multivariable and IPTW, all patients (empty without them)."""
    comp = results.comparative
    if comp is None:
        return ""
    hr = comp.survival.hazard_ratios
    ref = results.plan.reference
    parts = []
    for ep in ("PFS", "OS"):
        for r in [x for x in results.plan.regimens if x != ref]:
            cells = []
            for model, label in (("unadjusted", "unadjusted"),
                                 ("multivariable", "multivariable"), ("iptw", "IPTW")):
                row = hr[(hr["endpoint"] == ep) & (hr["subgroup"] == "all")
                         & (hr["term"] == r) & (hr["model"] == model)]
                if len(row) and not fmt._bad(row["hr"].iloc[0]):
                    x = row.iloc[0]
                    cells.append(f"{_ci(x['hr'], x['ci_low'], x['ci_high'])} {label}")
            if cells:
                parts.append(f"{ep} {r} vs {ref} {', '.join(cells)}")
    if not parts:
        return ""
    return "Hazard ratios (95% CI): " + "; ".join(parts) + "."
