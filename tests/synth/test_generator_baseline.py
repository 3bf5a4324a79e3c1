"""Baseline patients of the synthetic cohort: Table 1 counts and risk groups are exact."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from poems_cohort.clinical import risk_score
from poems_cohort.synth.assign import _risk_factors, baseline_patients, choose_exact
from poems_cohort.synth.targets import TABLE1_ROWS, default_targets


@pytest.fixture(scope="module")
def targets():
    return default_targets()


@pytest.fixture(scope="module")
def baseline(targets):
    return baseline_patients(targets, np.random.default_rng(2019))


def _yes(col: pd.Series) -> pd.Series:
    return col.astype(str) == "yes"


def table1_flags(f: pd.DataFrame) -> pd.DataFrame:
    """Table 1 rows recomputed from the generated values (not from the internal flags)."""
    return pd.DataFrame({
        "age_gt_50": f["age"] > 50,
        "male": f["sex"] == "M",
        "onls_gt_4": f["onls"] > 4,
        "hepatomegaly": _yes(f["hepatomegaly"]),
        "splenomegaly": _yes(f["splenomegaly"]),
        "lymphadenopathy": _yes(f["lymphadenopathy"]),
        "iga_heavy_chain": f["heavy_chain"] == "IgA",
        "spe_gt_5": f["spe_g_l"] > 5,
        "bmpc_gt_10": f["bmpc_pct"] > 10,
        "angioma": _yes(f["angioma"]),
        "peripheral_edema": _yes(f["peripheral_edema"]),
        "ascites": _yes(f["ascites"]),
        "pleural_effusion": _yes(f["pleural_effusion"]),
        "papilledema": _yes(f["papilledema"]),
        "osteosclerosis": _yes(f["osteosclerosis"]),
        "hypoalbuminemia": f["albumin_g_l"] < 30,
        "renal_dysfunction": f["egfr"] < 30,
        "urine_protein_gt_1g": f["urine_protein_g_24h"] > 1,
        "vegf_gt_4000": f["vegf_pg_ml"] > 4000,
    })


def test_every_table1_count_is_exact_per_regimen(targets, baseline):
    flags = table1_flags(baseline)
    for t in targets.regimens:
        rows = flags[baseline["regimen"] == t.regimen]
        assert len(rows) == t.size
        for row in TABLE1_ROWS:
            assert int(rows[row].sum()) == t.characteristics[row], (t.regimen, row)


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
            assert int(((baseline["onls"] >= 1) & cell).sum()) == t.responses[("rn", sg)].of


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
