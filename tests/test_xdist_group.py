"""The suite's own scheduling: the tests sharing the bundled cohort's generation run on one
pytest-xdist worker (tests/conftest.py), so the cohort is generated once per run."""

from __future__ import annotations

import pytest

from tests.conftest import BUNDLED_GROUP


@pytest.mark.xdist_group(BUNDLED_GROUP)
def test_the_bundled_group_reaches_the_scheduler(request: pytest.FixtureRequest) -> None:
    # pytest-xdist's loadgroup sends a test's group to the scheduler in its node id; when it
    # does not (pytest 9.2 with pytest-xdist 3.8: pyproject.toml holds pytest below 9.2), the
    # tests of the group spread over the workers and each generates the cohort again
    if not getattr(request.config, "workerinput", None) or not request.config.getvalue(
            "loadgroup"):
        pytest.skip("not run by pytest-xdist with --dist loadgroup")
    assert request.node.nodeid.endswith(f"@{BUNDLED_GROUP}"), request.node.nodeid
