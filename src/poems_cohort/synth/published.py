"""The published study's numbers as frozen records.

``load_published()`` reads ``data/published/leukemia-2019.toml`` (the transcription of every number
printed in the paper), expands its compact Table 1 and Table 2 blocks into one
:class:`PublishedNumber` per printed value, attaches the recorded conflicts, and checks the whole
file once: any problem (duplicate id, unknown regimen, unparsable value, conflict naming an unknown
id) is reported together in one :class:`~poems_cohort.errors.InputError`.

Printed values keep their printed form (``printed``, a string) next to the parsed ``value`` and
its ``decimals``; :meth:`PublishedNumber.interval` gives the true values that print that way
(SPSS rounds half away from zero; a p-value printed ``0.000`` means ``p < 0.0005``).

The paper's statements of significance in words (no OS difference between the regimens, CRV
prognostic for PFS in medium-high risk patients) are facts too: each ``[[claim]]`` of the file becomes a record of
kind ``"significance"`` whose ``printed`` is the stated side of 0.05 (``"p < 0.05"`` or
``"p >= 0.05"``), with the ``comparison``, the subgroup, the ``direction`` when the paper states
one (``"ASCT higher"``: ASCT's value above every other group's) and the ``evidence`` (ids of the
printed p-values the statement rests on).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from poems_cohort.errors import InputError, Problem

DEFAULT_PATH = Path(__file__).resolve().parent.parent / "data" / "published" / "leukemia-2019.toml"

REGIMENS = ("MDex", "ASCT", "LDex")
POPULATIONS = ("All", *REGIMENS, "-")
SUBGROUPS = ("all", "low", "medium", "high", "medium-high")
SCOPES = ("study", "cited", "definition")
CONFLICT_KINDS = ("disagreeing-repeat", "impossible", "implausible", "misplaced")
SIGNIFICANCE = "significance"
#: the two sides of 0.05 a statement of significance can take
SIDES = ("p < 0.05", "p >= 0.05")

TABLE1_COLUMNS = ("All", "MDex", "ASCT", "LDex")
TABLE2_SUBGROUPS = (("all", "all"), ("low", "low"), ("medium_high", "medium-high"))

_Report = Callable[[str, object, str], None]

_NUMBER = re.compile(r"^(?P<rel><\s*)?(?P<num>\d+(?:\.(?P<dec>\d+))?)$")
_SIDE = re.compile(r"^p\s*(?P<rel><|>=)\s*(?P<num>0\.\d+)$")
_DIRECTION = re.compile(r"^(?P<group>.+) (?P<way>higher|lower)$")


@dataclass(frozen=True, slots=True)
class PublishedNumber:
    """One number as printed in the paper.

    ``value`` is ``None`` only for dates. ``relation`` is ``"<"`` for values printed as an upper
    bound (``"< 0.001"``), else ``"="``. ``regimen`` is the population (``All``, ``MDex``, ``ASCT``,
    ``LDex``, or ``-``); p-values comparing regimens have ``regimen="All"`` and a ``comparison``.
    ``conflicts_with`` lists the ids of numbers that cannot all be true with this one; ``note``
    says why (or anything else worth knowing about the value).

    A statement of significance (``kind = "significance"``) has ``printed`` ``"p < 0.05"``
    (relation ``"<"``) or ``"p >= 0.05"`` (relation ``">="``), ``value`` 0.05 and no decimals;
    ``direction`` (``"<group> higher"`` or ``"<group> lower"``) when the paper says which group
    does better, ``evidence`` the ids of the printed p-values behind it, and ``note`` a short
    paraphrase of the statement.
    """

    id: str
    printed: str
    value: float | None
    decimals: int | None
    relation: str
    kind: str
    regimen: str
    subgroup: str
    location: str
    quantity: str
    scope: str = "study"
    denominator: int | None = None
    comparison: str | None = None
    conflicts_with: tuple[str, ...] = ()
    conflict_kind: str | None = None
    intended: str | None = None
    note: str = ""
    direction: str | None = None
    evidence: tuple[str, ...] = ()

    def interval(self) -> tuple[float, float]:
        """The closed interval of true values that print as ``printed``.

        ``"49.7"`` → ``(49.65, 49.75)``; ``"0.000"`` → ``(0, 0.0005)``; ``"< 0.001"`` → ``(0, 0.001)``;
        ``"p >= 0.05"`` → ``(0.05, 1)``.
        The upper end of a rounded value is exclusive in theory (half rounds up); callers needing
        exactness use :func:`poems_cohort.synth.solver.counts_for_percent`, which works in integers.
        """
        if self.value is None or (self.decimals is None and self.relation == "="):
            raise ValueError(f"{self.id}: {self.printed!r} is not a number")
        if self.relation == "<":
            return (0.0, self.value)
        if self.relation == ">=":
            return (self.value, 1.0)
        assert self.decimals is not None
        half = 0.5 * 10.0 ** (-self.decimals)
        return (max(0.0, self.value - half), self.value + half)

    @property
    def numeric(self) -> float:
        """``value`` of a number that is not a date (ValueError for a date, which has none)."""
        if self.value is None:
            raise ValueError(f"{self.id}: {self.printed!r} is a date, not a number")
        return self.value

    def admits(self, x: float) -> bool:
        """Whether a true value ``x`` would be printed as this number (half rounds up)."""
        lo, hi = self.interval()
        if self.relation == ">=":
            return lo <= x <= hi
        return lo <= x < hi

    @property
    def has_conflict(self) -> bool:
        """Whether this value is part of a recorded conflict (see ``conflict_kind`` and ``note``)."""
        return self.conflict_kind is not None


@dataclass(frozen=True, slots=True)
class Conflict:
    """Printed values that cannot all be true, the kind of contradiction and the likely intent.

    ``intended`` (when the other printed numbers decide it) is the value the first id most likely
    meant to print. ``blame`` lists the ids the record gives up: proved impossible on their own,
    or the members of a set that cannot all print which the record chooses as the wrong ones
    (its note says why; see :meth:`blames`).
    """

    ids: tuple[str, ...]
    kind: str
    note: str
    intended: str | None = None
    blame: tuple[str, ...] = ()

    def blames(self, number_id: str) -> bool:
        """Whether this conflict holds the printed value of ``number_id`` to be the wrong one.

        Only an ``impossible`` conflict blames: the ids listed in ``blame``, the first id when
        the conflict states its ``intended`` value, and the only id of a one-member conflict. A
        conflict of several values that names none of them (one of them must be wrong, the record
        does not say which) blames none.
        """
        if self.kind != "impossible" or number_id not in self.ids:
            return False
        return (number_id in self.blame or len(self.ids) == 1
                or (self.intended is not None and self.ids[0] == number_id))


@dataclass(frozen=True)
class PublishedStudy:
    """All published numbers of the study, with the regimen sizes and the recorded conflicts."""

    numbers: tuple[PublishedNumber, ...]
    conflicts: tuple[Conflict, ...]
    regimen_sizes: dict[str, int]
    doi: str
    source: str
    _by_id: dict[str, PublishedNumber] = field(repr=False, compare=False, default_factory=dict)

    def __post_init__(self) -> None:
        self._by_id.update({n.id: n for n in self.numbers})

    def __len__(self) -> int:
        return len(self.numbers)

    def __iter__(self) -> Iterator[PublishedNumber]:
        return iter(self.numbers)

    def __contains__(self, number_id: object) -> bool:
        return number_id in self._by_id

    def __getitem__(self, number_id: str) -> PublishedNumber:
        try:
            return self._by_id[number_id]
        except KeyError:
            raise KeyError(f"no published number with id {number_id!r}") from None

    def __repr__(self) -> str:
        return (f"PublishedStudy(doi={self.doi!r}, numbers={len(self.numbers)}, "
                f"conflicts={len(self.conflicts)})")

    def select(self, **criteria: str) -> tuple[PublishedNumber, ...]:
        """Numbers whose fields equal every given value, e.g. ``select(kind="p-value")``."""
        return tuple(n for n in self.numbers
                     if all(getattr(n, k) == v for k, v in criteria.items()))

    def to_frame(self) -> pd.DataFrame:
        """One row per number, columns in field order (``conflicts_with`` joined by ``;``)."""
        rows = []
        for n in self.numbers:
            rows.append({
                "id": n.id, "printed": n.printed, "value": n.value, "decimals": n.decimals,
                "relation": n.relation, "kind": n.kind, "regimen": n.regimen,
                "subgroup": n.subgroup, "location": n.location, "quantity": n.quantity,
                "scope": n.scope, "denominator": n.denominator, "comparison": n.comparison,
                "conflicts_with": ";".join(n.conflicts_with), "conflict_kind": n.conflict_kind,
                "intended": n.intended, "note": n.note, "direction": n.direction,
                "evidence": ";".join(n.evidence),
            })
        return pd.DataFrame(rows)


def parse_printed(printed: str, kind: str) -> tuple[float | None, int | None, str]:
    """``(value, decimals, relation)`` of a printed number; dates give ``(None, None, "=")``,
    statements of significance ``(0.05, None, "<")`` for ``"p < 0.05"`` and ``">="`` for
    ``"p >= 0.05"``."""
    if kind == "date":
        return None, None, "="
    if kind == SIGNIFICANCE:
        side = _SIDE.match(printed.strip())
        if side is None or printed.strip() not in SIDES:
            raise ValueError(f"cannot read {printed!r} as a side of 0.05 (one of {SIDES})")
        return float(side.group("num")), None, side.group("rel")
    m = _NUMBER.match(printed.strip())
    if m is None:
        raise ValueError(f"cannot read {printed!r} as a number")
    dec = m.group("dec")
    return float(m.group("num")), (len(dec) if dec else 0), ("<" if m.group("rel") else "=")


def load_published(path: str | Path | None = None) -> PublishedStudy:
    """Read and check the published-numbers file (default: the bundled Leukemia 2019 record)."""
    path = Path(path) if path is not None else DEFAULT_PATH
    with open(path, "rb") as fh:
        raw = tomllib.load(fh)
    problems: list[Problem] = []
    where = str(path)

    def problem(column: str, value: object, expected: str) -> None:
        problems.append(Problem(where, None, column, value, expected))

    entries: list[dict] = []
    entries.extend(_expand_table1(raw.get("table1", []), problem))
    entries.extend(_expand_table2(raw.get("table2", []), problem))
    entries.extend(dict(e) for e in raw.get("number", []))
    entries.extend(_expand_claims(raw.get("claim", []), problem))

    conflicts = tuple(
        Conflict(ids=tuple(c["ids"]), kind=c["kind"], note=c["note"], intended=c.get("intended"),
                 blame=tuple(c.get("blame", ())))
        for c in raw.get("conflict", [])
    )
    links: dict[str, set[str]] = {}
    notes: dict[str, list[str]] = {}
    kinds: dict[str, str] = {}
    intents: dict[str, str] = {}
    for c in conflicts:
        if c.kind not in CONFLICT_KINDS:
            problem("conflict.kind", c.kind, f"one of {CONFLICT_KINDS}")
        for i in c.blame:
            if i not in c.ids:
                problem("conflict.blame", i, "one of the conflict's ids")
        if c.blame and c.kind != "impossible":
            problem("conflict.blame", c.kind, "blame only in an impossible conflict")
        for i in c.ids:
            links.setdefault(i, set()).update(j for j in c.ids if j != i)
            notes.setdefault(i, []).append(c.note)
            kinds.setdefault(i, c.kind)
            if c.intended is not None and i == c.ids[0]:
                intents[i] = c.intended

    numbers: list[PublishedNumber] = []
    seen: set[str] = set()
    for e in entries:
        nid = e.get("id", "")
        if not nid or nid in seen:
            problem("id", nid, "a unique, non-empty id")
            continue
        seen.add(nid)
        kind = e.get("kind", "")
        try:
            value, decimals, relation = parse_printed(str(e.get("printed", "")), kind)
        except ValueError as exc:
            problem(f"{nid}.printed", e.get("printed"), str(exc))
            continue
        regimen = e.get("regimen", "")
        subgroup = e.get("subgroup", "all")
        scope = e.get("scope", "study")
        if regimen not in POPULATIONS:
            problem(f"{nid}.regimen", regimen, f"one of {POPULATIONS}")
        if subgroup not in SUBGROUPS:
            problem(f"{nid}.subgroup", subgroup, f"one of {SUBGROUPS}")
        if scope not in SCOPES:
            problem(f"{nid}.scope", scope, f"one of {SCOPES}")
        for required in ("kind", "location", "quantity"):
            if not e.get(required):
                problem(f"{nid}.{required}", None, "a non-empty value")
        note = e.get("note", "")
        extra = [n for n in notes.get(nid, []) if n not in note]
        if extra:
            note = " ".join(([note] if note else []) + extra)
        numbers.append(PublishedNumber(
            id=nid, printed=str(e["printed"]), value=value, decimals=decimals, relation=relation,
            kind=kind, regimen=regimen, subgroup=subgroup, location=e.get("location", ""),
            quantity=e.get("quantity", ""), scope=scope, denominator=e.get("denominator"),
            comparison=e.get("comparison"), conflicts_with=tuple(sorted(links.get(nid, ()))),
            conflict_kind=kinds.get(nid), intended=intents.get(nid), note=note,
            direction=e.get("direction"), evidence=tuple(e.get("evidence", ())),
        ))
    for i in links:
        if i not in seen:
            problem("conflict.ids", i, "the id of a published number")
    for n in numbers:
        for i in n.evidence:
            if i not in seen:
                problem(f"{n.id}.evidence", i, "the id of a published number")
            elif i == n.id:
                problem(f"{n.id}.evidence", i, "another number's id")
    sizes = dict(raw.get("meta", {}).get("regimen_sizes", {}))
    if sizes and sum(sizes.get(r, 0) for r in REGIMENS) != sizes.get("All"):
        problem("meta.regimen_sizes", sizes, "regimen sizes that add up to All")
    if problems:
        raise InputError(problems)
    return PublishedStudy(numbers=tuple(numbers), conflicts=conflicts, regimen_sizes=sizes,
                          doi=raw.get("meta", {}).get("doi", ""), source=where)


def _expand_table1(rows: list[dict], problem: _Report) -> list[dict]:
    out: list[dict] = []
    for row in rows:
        key, printed = row.get("row", ""), row.get("printed", [])
        if len(printed) != 5:
            problem(f"table1.{key}.printed", printed, "5 values: All, MDex, ASCT, LDex, p")
            continue
        denominators = row.get("denominators")
        for j, regimen in enumerate(TABLE1_COLUMNS):
            entry = {
                "id": f"table1.{key}.{regimen}.percent", "printed": printed[j], "kind": "percent",
                "regimen": regimen, "location": f"Table 1, row '{row['label']}', column {regimen}",
                "quantity": key,
            }
            if denominators is not None:
                entry["denominator"] = denominators[j]
            out.append(entry)
        out.append({
            "id": f"table1.{key}.p", "printed": printed[4], "kind": "p-value", "regimen": "All",
            "comparison": "ASCT vs MDex vs LDex",
            "location": f"Table 1, row '{row['label']}', column p-value", "quantity": key,
            **({"note": "Printed 0.000: p < 0.0005."} if printed[4] == "0.000" else {}),
        })
    return out


def _expand_table2(blocks: list[dict], problem: _Report) -> list[dict]:
    out: list[dict] = []
    for block in blocks:
        endpoint, label, kind = block.get("endpoint", ""), block.get("label", ""), block.get("kind")
        for regimen in ("ASCT", "MDex", "LDex"):
            cells = block.get(regimen, [])
            if len(cells) != 6:
                problem(f"table2.{endpoint}.{regimen}", cells, "6 values: rate, p for 3 columns")
                continue
            for k, (key, subgroup) in enumerate(TABLE2_SUBGROUPS):
                rate, p = cells[2 * k], cells[2 * k + 1]
                column = {"all": "All", "low": "Low risk", "medium_high": "Medium-high risk"}[key]
                if rate:
                    out.append({
                        "id": f"table2.{endpoint}.{key}.{regimen}.rate", "printed": rate,
                        "kind": kind, "regimen": regimen, "subgroup": subgroup,
                        "location": f"Table 2, {label} row {regimen}, column {column}",
                        "quantity": endpoint + ("3y" if kind == "3y-rate" else ""),
                    })
                if p:
                    entry = {
                        "id": f"table2.{endpoint}.{key}.{regimen}.p", "printed": p,
                        "kind": "p-value", "regimen": "All", "subgroup": subgroup,
                        "comparison": f"{regimen} vs ASCT",
                        "location": f"Table 2, {label} row {regimen}, column {column} p",
                        "quantity": endpoint,
                    }
                    if regimen == "ASCT":
                        entry["comparison"] = "unclear (printed in the ASCT reference row)"
                    out.append(entry)
    return out


def comparison_groups(comparison: str) -> tuple[str, ...]:
    """The groups a comparison names: ``"MDex vs ASCT"`` → ``("MDex", "ASCT")``."""
    return tuple(g.strip() for g in comparison.split(" vs "))


def parse_direction(direction: str) -> tuple[str, str]:
    """``("ASCT", "higher")`` from ``"ASCT higher"``; ``ValueError`` for anything else."""
    m = _DIRECTION.match(direction.strip())
    if m is None:
        raise ValueError(f"cannot read {direction!r} as '<group> higher' or '<group> lower'")
    return m.group("group"), m.group("way")


def _expand_claims(claims: list[dict], problem: _Report) -> list[dict]:
    """One ``significance`` record per ``[[claim]]``, its fields checked."""
    out: list[dict] = []
    for c in claims:
        cid = c.get("id", "")
        comparison = c.get("comparison", "")
        if c.get("side") not in SIDES:
            problem(f"{cid}.side", c.get("side"), f"one of {SIDES}")
            continue
        if not comparison or " vs " not in comparison:
            problem(f"{cid}.comparison", comparison, "'<group> vs <group>[ vs <group>]'")
            continue
        direction = c.get("direction")
        if direction is not None:
            try:
                group, _ = parse_direction(direction)
            except ValueError as exc:
                problem(f"{cid}.direction", direction, str(exc))
                continue
            if group not in comparison_groups(comparison):
                problem(f"{cid}.direction", direction,
                        f"a group of the comparison {comparison!r}")
                continue
        if not c.get("statement"):
            problem(f"{cid}.statement", None, "a short paraphrase of the statement")
        entry = {
            "id": cid, "printed": c["side"], "kind": SIGNIFICANCE,
            "regimen": c.get("regimen", "All"), "subgroup": c.get("subgroup", "all"),
            "location": c.get("location", ""), "quantity": c.get("quantity", ""),
            "comparison": comparison, "note": c.get("statement", ""),
            "evidence": list(c.get("evidence", [])),
        }
        if direction is not None:
            entry["direction"] = direction
        out.append(entry)
    return out
