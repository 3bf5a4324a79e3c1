from typer.testing import CliRunner

import poems_cohort
from poems_cohort.cli import app


def test_version_flag_prints_the_package_version():
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == poems_cohort.__version__
