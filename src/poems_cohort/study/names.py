"""The names the study's results are filed under, defined once for ``study``, ``report`` and
``synth``: groups, subgroups, comparisons ("by"), endpoints and test sources.

Fetch results through the typed accessors (``results.survival.test(PFS, by=BY_CRV,
subgroup="medium-high")``, ``results.table2.row(...)``) rather than by filtering frames on these
strings; the frames keep them as columns for ``results.json`` and the tables.
"""

from __future__ import annotations

from typing import Final, Literal

#: the row of every patient of a subgroup, beside one row per regimen
ALL: Final = "All"
#: the subgroup holding every patient
EVERYONE: Final = "all"

#: what the survival curves and tests compare
By = Literal["regimen", "CRV"]
BY_REGIMEN: Final = "regimen"
BY_CRV: Final = "CRV"
#: the two groups of the comparison by CRV status
CRV_GROUPS: Final = ("CRV", "No CRV")

#: survival endpoints: label, time column, event column of the analysis dataset
PFS: Final = "PFS"
OS: Final = "OS"
SURVIVAL_ENDPOINTS: Final = ((PFS, "pfs_months", "pfs_event"), (OS, "os_months", "os_event"))

#: response endpoints of Table 2: label, response column, evaluability column
RESPONSE_ENDPOINTS: Final = (
    ("CRH", "crh", "crh_evaluable"),
    ("CRV", "crv", "crv_evaluable"),
    ("CRH/CRV", "crh_crv", "crh_crv_evaluable"),
    ("RN", "rn", "rn_evaluable"),
)

#: where a test across all regimens comes from (``StudyResults.tests()["source"]``)
Source = Literal["table1", "table2", "survival"]
TABLE1: Final = "table1"
TABLE2: Final = "table2"
SURVIVAL: Final = "survival"


def endpoint_label(endpoint: str, by: str = BY_REGIMEN) -> str:
    """The ``endpoint`` label of a survival test in the tests frame: ``"PFS"`` by regimen,
    ``"PFS by CRV"`` by CRV status."""
    return endpoint if by == BY_REGIMEN else f"{endpoint} by {by}"
