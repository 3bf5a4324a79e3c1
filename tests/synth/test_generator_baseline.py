"""Baseline patients of the synthetic cohort: Table 1 counts and risk groups are exact."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from poems_cohort.clinical import risk_score
from poems_cohort.synth.assign import _risk_factors, baseline_patients, choose_exact
from poems_cohort.synth.targets import TABLE1_ROWS, Count, default_targets, load_solved_counts


@pytest.fixture(scope="module")
def targets():
    return default_targets()


@pytest.fixture(scope="module")
def baseline(targets):
    return baseline_patients(targets, np.random.default_rng(2019))


def _yes(col: pd.Series) -> pd.Series:
    return col.astype(str) == "yes"


def _blank(col: pd.Series) -> pd.Series:
    """Not recorded: missing (pandas 3 ``str`` dtype) or an empty string (object dtype)."""
    return col.isna() | (col.astype(str) == "")


def table1_flags(f: pd.DataFrame) -> pd.DataFrame:
    """Table 1 rows recomputed from the generated values (not from the internal flags):
    True, False, or <NA> where the value is not recorded."""
    def flag(col: str) -> pd.Series:
        return (_yes(f[col])).astype("boolean").mask(_blank(f[col]))

    def num(col: str, op: str, x: float) -> pd.Series:
        v = pd.to_numeric(f[col])
        return (v > x if op == ">" else v < x).astype("boolean").mask(v.isna())

    return pd.DataFrame({
        "age_gt_50": num("age", ">", 50),
        "male": (f["sex"] == "M").astype("boolean").mask(_blank(f["sex"])),
        "onls_gt_4": num("onls", ">", 4),
        **{c: flag(c) for c in ("hepatomegaly", "splenomegaly", "lymphadenopathy", "angioma",
                                "peripheral_edema", "ascites", "pleural_effusion",
                                "papilledema", "osteosclerosis")},
        "iga_heavy_chain": (f["heavy_chain"] == "IgA").astype("boolean").mask(
            _blank(f["heavy_chain"])),
        "spe_gt_5": num("spe_g_l", ">", 5),
        "bmpc_gt_10": num("bmpc_pct", ">", 10),
        "hypoalbuminemia": num("albumin_g_l", "<", 30),
        "renal_dysfunction": num("egfr", "<", 30),
        "urine_protein_gt_1g": num("urine_protein_g_24h", ">", 1),
        "vegf_gt_4000": num("vegf_pg_ml", ">", 4000),
    })


def test_every_table1_count_is_exact_per_regimen(targets, baseline):
    flags = table1_flags(baseline)
    for t in targets.regimens:
        rows = flags[baseline["regimen"] == t.regimen]
        assert len(rows) == t.size
        for row in TABLE1_ROWS:
            got = (int(rows[row].fillna(False).sum()), int(rows[row].notna().sum()))
            want = t.characteristics[row]
            assert got == (want.n, want.of), (t.regimen, row)


def test_table1_counts_are_the_solved_counts(targets):
    solved = load_solved_counts()["table1"]
    for t in targets.regimens:
        for row in TABLE1_ROWS:
            if row == "onls_gt_4":
                continue
            c = solved[row]["counts"][t.regimen]
            assert t.characteristics[row] == Count(c["n"], c["N"]), (t.regimen, row)
    # with missing values somewhere, but never in a risk factor
    assert targets.regimen("ASCT").characteristics["hepatomegaly"] == Count(63, 155)
    # rows whose p-value the record proves unreachable keep every printed percent
    assert targets.regimen("MDex").characteristics["hepatomegaly"] == Count(34, 79)
    assert targets.regimen("ASCT").characteristics["bmpc_gt_10"] == Count(8, 165)
    assert targets.regimen("MDex").characteristics["vegf_gt_4000"] == Count(28, 67)
    for t in targets.regimens:
        for row in ("age_gt_50", "pleural_effusion", "renal_dysfunction"):
            assert t.characteristics[row].of == t.size


def test_onls_row_is_the_published_row_with_complete_data(targets):
    """ONLS > 4 is recorded for every patient (37/79, 64/165, 34/103, as printed); the 19
    patients at ONLS 0 are shared in proportion to the patients not evaluable for RN."""
    from poems_cohort.synth.solver import Printed

    c = {t.regimen: t.characteristics["onls_gt_4"] for t in targets.regimens}
    assert {r: (x.n, x.of) for r, x in c.items()} == {
        "MDex": (37, 79), "ASCT": (64, 165), "LDex": (34, 103)}
    for reg, printed in (("MDex", "46.8"), ("ASCT", "38.8"), ("LDex", "33.0")):
        assert Printed.parse(printed).admits_percent(c[reg].n, c[reg].of)
    zeros = {t.regimen: t.onls_zero for t in targets.regimens}
    assert sum(zeros.values()) == targets.onls_zero == 19
    assert zeros == {"MDex": 5, "ASCT": 10, "LDex": 4}


def test_risk_groups_from_the_score_match_the_targets(targets, baseline):
    canonical = baseline.assign(
        pulmonary_hypertension=_yes(baseline["pulmonary_hypertension"]).astype("boolean"),
        pleural_effusion=_yes(baseline["pleural_effusion"]).astype("boolean"),
    )
    scored = risk_score(canonical)
    assert (scored["risk_group"].to_numpy() == baseline["risk_group"].to_numpy()).all()
    for t in targets.regimens:
        groups = scored.loc[baseline["regimen"] == t.regimen, "risk_group"].value_counts()
        assert groups.to_dict() == t.risk


def test_ages_and_onls_as_published(targets, baseline):
    assert baseline["age"].median() == targets.age_median
    assert baseline["age"].min() == targets.age_min
    assert baseline["age"].max() == targets.age_max
    assert baseline.loc[baseline["regimen"] == "ASCT", "age"].max() < 65
    assert baseline["onls"].median() == targets.onls_median
    assert int((baseline["onls"] == 0).sum()) == targets.onls_zero
    # missing values only where Table 1 has them
    for col in ("age", "egfr", "pleural_effusion", "pulmonary_hypertension"):
        assert (baseline[col].astype(str) != "").all() and baseline[col].notna().all(), col
    assert baseline["onls"].dropna().between(0, 12).all()


def test_castleman_light_chain_and_criteria(targets, baseline):
    for t in targets.regimens:
        c = baseline.loc[baseline["regimen"] == t.regimen, "castleman"]
        assert int((c != "").sum()) == t.castleman.of
        assert int((c == "yes").sum()) == t.castleman.n
    assert (baseline["light_chain"] == "lambda").all()
    major = (_yes(baseline["osteosclerosis"]) | (baseline["castleman"] == "yes")
             | (baseline["vegf_pg_ml"] >= 600))
    assert major.all()


def test_evaluable_counts_per_cell(targets, baseline):
    positive = (baseline["serum_ife"] == "positive") | (baseline["urine_ife"] == "positive")
    for t in targets.regimens:
        for sg in ("low", "medium-high"):
            cell = (baseline["regimen"] == t.regimen) & (baseline["subgroup"] == sg)
            assert int((positive & cell).sum()) == t.responses[("crh", sg)].of
            assert int(((baseline["vegf_pg_ml"] >= 600) & cell).sum()) == \
                t.responses[("crv", sg)].of
            # RN-evaluable ("assessed"): a baseline ONLS of at least 1, and re-scored later
            rn_ev = baseline["rn_ev"].to_numpy(bool)
            assert int((rn_ev & cell).sum()) == t.responses[("rn", sg)].of
            assert (baseline.loc[rn_ev, "onls"] >= 1).all()
    # every baseline ONLS is recorded: the 19 at 0 are not RN-evaluable
    assert baseline["onls"].notna().all()
    assert not baseline.loc[baseline["onls"] == 0, "rn_ev"].any()


def test_choose_exact_honours_zero_and_infinite_weights():
    rng = np.random.default_rng(1)
    w = np.array([0.0, np.inf, 1.0, 1.0, 0.0, np.inf])
    for k in range(2, 5):
        mask = choose_exact(rng, k, w)
        assert mask.sum() == k
        assert mask[1] and mask[5]
        assert not mask[0] and not mask[4]


def test_risk_factors_hand_case():
    # 2 low, 3 medium, 3 high; 4 over 50, 3 effusions, 1 eGFR < 30
    f = _risk_factors(2, 3, 3, 4, 3, 1)
    points = (f["age_gt_50"].astype(int) + f["pleural_effusion"] + f["pulmonary_hypertension"]
              + 2 * f["renal_dysfunction"])
    assert list(points[:2]) == [0, 0]
    assert list(points[2:5]) == [1, 1, 1]
    assert (points[5:] >= 2).all()
    assert f["age_gt_50"].sum() == 4 and f["pleural_effusion"].sum() == 3
    assert f["renal_dysfunction"].sum() == 1


def test_same_seed_same_patients(targets):
    a = baseline_patients(targets, np.random.default_rng(7))
    b = baseline_patients(targets, np.random.default_rng(7))
    pd.testing.assert_frame_equal(a, b)
