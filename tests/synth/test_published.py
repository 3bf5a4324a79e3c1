"""The published-numbers record: transcription spot checks, rounding intervals, conflicts."""

from __future__ import annotations

from collections import defaultdict

import pytest

from poems_cohort.errors import InputError
from poems_cohort.synth.published import PublishedNumber, load_published, parse_printed


@pytest.fixture(scope="module")
def study():
    return load_published()


def test_regimen_sizes_and_size(study):
    assert study.regimen_sizes == {"All": 347, "MDex": 79, "ASCT": 165, "LDex": 103}
    assert len(study) > 400
    assert len({n.id for n in study}) == len(study)


def test_table1_row_transcribed_in_column_order(study):
    row = [study[f"table1.age_gt_50.{r}.percent"].printed for r in ("All", "MDex", "ASCT", "LDex")]
    assert row == ["40.3", "48.1", "32.7", "46.6"]
    p = study["table1.age_gt_50.p"]
    assert (p.printed, p.value, p.decimals, p.kind) == ("0.022", 0.022, 3, "p-value")
    # 23 rows x (4 percents + 1 p)
    assert len([n for n in study if n.id.startswith("table1.") and ".header." not in n.id
                and ".footnote." not in n.id]) == 23 * 5


def test_table1_castleman_carries_biopsy_denominators(study):
    dens = [study[f"table1.castleman.{r}.percent"].denominator for r in ("All", "MDex", "ASCT", "LDex")]
    assert dens == [52, 12, 29, 11]


def test_table2_cells_and_p_columns(study):
    cell = study["table2.crh.all.LDex.rate"]
    assert (cell.printed, cell.regimen, cell.subgroup) == ("47.5", "LDex", "all")
    p = study["table2.crv.medium_high.MDex.p"]
    assert (p.printed, p.relation, p.value, p.comparison) == ("< 0.001", "<", 0.001, "MDex vs ASCT")
    assert study["table2.rn.all.MDex.rate"].decimals == 1
    assert "table2.crh.all.ASCT.p" not in study
    # 6 blocks x 3 regimens x 3 columns of rates; p for 2 regimens x 3 columns + the stray one
    assert len(study.select(kind="percent", location=cell.location)) == 1
    rates = [n for n in study if n.id.startswith("table2.") and n.id.endswith(".rate")]
    ps = [n for n in study if n.id.startswith("table2.") and n.id.endswith(".p")]
    assert (len(rates), len(ps)) == (54, 37)
    # the stray p sits in the ASCT row, the reference of every other p of Table 2: it is the
    # only p-value of the ASCT row, and the record calls it misplaced
    asct = [n.id for n in ps if " row ASCT," in n.location]
    assert asct == ["table2.pfs.low.ASCT.p"]
    assert len([n for n in ps if " row MDex," in n.location or " row LDex," in n.location]) == 36
    assert study["table2.pfs.low.ASCT.p"].conflict_kind == "misplaced"


def test_parse_printed():
    assert parse_printed("100", "percent") == (100.0, 0, "=")
    assert parse_printed("< 0.001", "p-value") == (0.001, 3, "<")
    assert parse_printed("August 31, 2018", "date") == (None, None, "=")
    with pytest.raises(ValueError):
        parse_printed("12-50", "percent")


def test_intervals_of_printed_values(study):
    lo, hi = study["table2.crh.all.ASCT.rate"].interval()
    assert lo == pytest.approx(49.65) and hi == pytest.approx(49.75)
    assert study["table2.crh.all.ASCT.rate"].admits(100 * 82 / 165)       # 49.697
    assert not study["table2.crh.all.ASCT.rate"].admits(100 * 81 / 165)   # 49.09
    zero = study["table1.peripheral_edema.p"]
    assert zero.interval() == (0.0, pytest.approx(0.0005))
    assert zero.admits(0.0) and zero.admits(0.00049) and not zero.admits(0.0006)
    bound = study["table2.crv.medium_high.MDex.p"]
    assert bound.admits(0.0009) and not bound.admits(0.001)
    assert study["table2.rn.all.MDex.rate"].admits(100.0)


def test_dates_have_no_interval(study):
    with pytest.raises(ValueError):
        study["methods.last_followup"].interval()


def test_numeric_value_of_a_number_and_none_for_a_date(study):
    assert study["table2.crv.medium_high.MDex.p"].numeric == 0.001
    assert study["text.os.p"].numeric == study["text.os.p"].value
    with pytest.raises(ValueError, match="methods.last_followup: .* is a date, not a number"):
        _ = study["methods.last_followup"].numeric


def test_every_disagreeing_repeat_is_marked(study):
    """Numbers stating the same fact with different values must all carry a conflict."""
    groups: dict[tuple, list[PublishedNumber]] = defaultdict(list)
    for n in study:
        if n.value is not None and n.scope == "study":
            groups[(n.quantity, n.regimen, n.subgroup, n.kind, n.comparison)].append(n)
    def compatible(a: PublishedNumber, b: PublishedNumber) -> bool:
        (alo, ahi), (blo, bhi) = a.interval(), b.interval()
        return alo < bhi and blo < ahi

    pairs = [(a, b) for g in groups.values() for a in g for b in g
             if a.id < b.id and not compatible(a, b)]
    assert len(pairs) >= 5, "the paper has known disagreements"
    for a, b in pairs:
        assert a.has_conflict or b.has_conflict, (a.id, a.printed, b.id, b.printed)


def test_known_conflicts_recorded(study):
    ldex = study["text.crh.LDex.percent"]
    assert ldex.conflict_kind == "disagreeing-repeat"
    assert "table2.crh.all.LDex.rate" in ldex.conflicts_with
    assert study["abstract.os3y.All"].conflicts_with == ("text.os3y.All",)
    assert study["table2.header.n.all"].printed == "387"
    assert study["table2.header.n.all"].intended == "347"
    castleman = study["table1.castleman.LDex.percent"]
    assert castleman.conflict_kind == "impossible" and castleman.intended == "72.7"
    assert study["table1.risk_medium.LDex.percent"].intended == "43.7"
    assert not study["table1.age_gt_50.p"].has_conflict


def test_a_conflict_blames_listed_ids_the_intended_first_id_or_its_only_id(study):
    from poems_cohort.synth.published import Conflict

    listed = Conflict(ids=("a", "b", "c"), kind="impossible", note="", blame=("b",))
    assert listed.blames("b") and not listed.blames("a") and not listed.blames("c")
    assert Conflict(ids=("a", "b"), kind="impossible", note="", intended="1").blames("a")
    assert not Conflict(ids=("a", "b"), kind="impossible", note="", intended="1").blames("b")
    assert Conflict(ids=("a",), kind="impossible", note="").blames("a")
    assert not Conflict(ids=("a", "b"), kind="impossible", note="").blames("a")
    assert not Conflict(ids=("a",), kind="implausible", note="").blames("a")
    by_id = {i: c for c in study.conflicts for i in c.ids}
    assert by_id["table1.castleman.LDex.percent"].blames("table1.castleman.LDex.percent")
    # the ONLS row and the CRH/CRV rates hold under the readings of the definitions: no conflict
    assert "table1.onls_gt_4.LDex.percent" not in by_id
    assert "table2.crh_crv.low.MDex.rate" not in by_id
    overall = by_id["text.crh_crv.All.percent"]
    assert overall.blames("text.crh_crv.All.percent")
    assert not overall.blames("table2.crh_crv.all.ASCT.rate")


def test_blame_names_ids_of_its_own_impossible_conflict(tmp_path):
    from poems_cohort.synth.published import DEFAULT_PATH

    text = DEFAULT_PATH.read_text(encoding="utf-8")
    bad = tmp_path / "bad.toml"
    bad.write_text(text + '\n[[conflict]]\nids = ["table1.male.p"]\nkind = "implausible"\n'
                   'note = "x"\nblame = ["table1.age_gt_50.p"]\n', encoding="utf-8")
    with pytest.raises(InputError) as err:
        load_published(bad)
    assert "blame" in str(err.value)


def test_numbers_agreeing_with_each_other(study):
    """Repeated statements that agree: text and tables give the same printed values."""
    assert study["text.male.All.percent"].printed == study["table1.male.All.percent"].printed
    assert study["text.crh.low.MDex.p"].printed == study["table2.crh.low.MDex.p"].printed
    assert study["text.risk_high.p"].admits(study["table1.risk_high.p"].value)


def test_to_frame(study):
    frame = study.to_frame()
    assert len(frame) == len(study)
    assert list(frame.columns[:4]) == ["id", "printed", "value", "decimals"]


def test_bad_file_reports_every_problem(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(
        '[meta]\nregimen_sizes = { All = 10, MDex = 3, ASCT = 3, LDex = 3 }\n'
        '[[number]]\nid = "a"\nprinted = "1.5"\nkind = "percent"\nregimen = "Foo"\n'
        'location = "x"\nquantity = "q"\n'
        '[[number]]\nid = "a"\nprinted = "2"\nkind = "count"\nregimen = "All"\n'
        'location = "x"\nquantity = "q"\n'
        '[[number]]\nid = "b"\nprinted = "two"\nkind = "count"\nregimen = "All"\n'
        'location = "x"\nquantity = "q"\n'
        '[[conflict]]\nids = ["a", "zzz"]\nkind = "impossible"\nnote = "n"\n'
    )
    with pytest.raises(InputError) as info:
        load_published(bad)
    columns = {p.column for p in info.value.problems}
    assert columns == {"a.regimen", "id", "b.printed", "conflict.ids", "meta.regimen_sizes"}


# --------------------------------------------------------------------------------------------
# Statements of significance in words


def test_statements_of_significance_are_records(study):
    claims = study.select(kind="significance")
    assert len(claims) == 49
    crv = study["text.claim.pfs.medium_high.by_crv"]
    assert (crv.printed, crv.value, crv.relation, crv.decimals) == ("p < 0.05", 0.05, "<", None)
    assert (crv.quantity, crv.subgroup, crv.comparison, crv.direction) == (
        "pfs", "medium-high", "CRV vs No CRV", "CRV higher")
    assert "Supplement Fig. 1" in crv.location
    os_ = study["text.claim.os.medium_high.by_crv"]
    assert (os_.printed, os_.relation, os_.direction) == ("p >= 0.05", ">=", None)
    three = study["abstract.claim.os.all.regimens"]
    assert (three.comparison, three.evidence) == ("ASCT vs MDex vs LDex", ("abstract.os.p",))


def test_every_statement_rests_on_printed_p_values_of_its_comparison(study):
    """Evidence is a printed p-value of the same endpoint, subgroup and comparison."""
    for claim in study.select(kind="significance"):
        for i in claim.evidence:
            p = study[i]
            assert p.kind == "p-value", (claim.id, i)
            assert (p.quantity, p.subgroup) == (claim.quantity, claim.subgroup), (claim.id, i)
            assert p.comparison is not None and p.comparison.startswith(claim.comparison), (
                claim.id, i, p.comparison)


def test_statement_interval_is_its_side_of_five_percent(study):
    below = study["text.claim.pfs.low.LDex"]
    assert below.interval() == (0.0, 0.05)
    assert below.admits(0.0499) and not below.admits(0.05)
    above = study["text.claim.os.all.regimens"]
    assert above.interval() == (0.05, 1.0)
    assert above.admits(0.05) and above.admits(1.0) and not above.admits(0.0499)


def test_statements_contradicting_the_paper_carry_a_conflict(study):
    similar = study["discussion.claim.ldex_similar.crv"]
    assert similar.conflict_kind == "disagreeing-repeat"
    assert "abstract.claim.crv.all.LDex" in similar.conflicts_with
    crh = study["abstract.claim.crh.all.MDex"]
    assert crh.conflict_kind == "impossible" and "table2.crh.all.MDex.p" in crh.conflicts_with


def test_parse_side_of_significance():
    assert parse_printed("p < 0.05", "significance") == (0.05, None, "<")
    assert parse_printed("p >= 0.05", "significance") == (0.05, None, ">=")
    for bad in ("p > 0.05", "< 0.05", "p <= 0.05", "p < 0.01"):
        with pytest.raises(ValueError):
            parse_printed(bad, "significance")


def test_bad_statements_report_every_problem(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(
        '[[number]]\nid = "p1"\nprinted = "0.01"\nkind = "p-value"\nregimen = "All"\n'
        'location = "x"\nquantity = "crh"\ncomparison = "MDex vs ASCT"\n'
        '[[claim]]\nid = "c1"\nquantity = "crh"\ncomparison = "MDex vs ASCT"\n'
        'side = "p > 0.05"\nlocation = "x"\nstatement = "s"\n'
        '[[claim]]\nid = "c2"\nquantity = "crh"\ncomparison = "MDex vs ASCT"\n'
        'side = "p < 0.05"\ndirection = "LDex higher"\nlocation = "x"\nstatement = "s"\n'
        '[[claim]]\nid = "c3"\nquantity = "crh"\ncomparison = "MDex vs ASCT"\n'
        'side = "p < 0.05"\ndirection = "ASCT better"\nlocation = "x"\nstatement = "s"\n'
        '[[claim]]\nid = "c4"\nquantity = "crh"\ncomparison = "MDex vs ASCT"\n'
        'side = "p < 0.05"\nevidence = ["p1", "nope"]\nlocation = "x"\n'
    )
    with pytest.raises(InputError) as info:
        load_published(bad)
    columns = {p.column for p in info.value.problems}
    assert columns == {"c1.side", "c2.direction", "c3.direction", "c4.evidence",
                       "c4.statement"}
