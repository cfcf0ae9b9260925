"""Run every docs example script and check what it prints.

Each script asserts its own numbers (agreement with scikit-learn / numpy); here we
also check that every solver table has its three rows and that each solver reached
an optimal (or reported inaccurate) status with a small certified duality gap.
"""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

#: script → (number of solver tables, closing line)
SCRIPTS = {
    "regression_models.py": (3, "all regression models agree with scikit-learn"),
    "classification_models.py": (3, "all classifiers agree with scikit-learn"),
    "robust_regression.py": (3, "robust regressions agree with scikit-learn"),
    "least_squares.py": (0, "all three agree with lstsq"),
}

ROW = re.compile(r"^\s+(clarabel|ecos|scs)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s*$", re.M)


def run_script(name: str) -> str:
    proc = subprocess.run([sys.executable, str(EXAMPLES / name)], capture_output=True, text=True,
                          cwd=EXAMPLES.parent, timeout=120)
    assert proc.returncode == 0, f"{name} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_example_runs_and_reports(name):
    out = run_script(name)
    n_tables, closing = SCRIPTS[name]
    assert closing in out
    rows = ROW.findall(out)
    assert len(rows) == 3 * n_tables
    for solver, status, objective, coef_err, gap, iters, seconds in rows:
        assert status in ("optimal", "optimal_inaccurate"), (solver, status)
        assert float(coef_err) < 1e-3
        # certified |primal − dual| of the cone program, relative to the objective
        assert float(gap) <= 1e-5 * max(1.0, abs(float(objective))), (solver, gap, objective)


def test_least_squares_solution():
    out = run_script("least_squares.py")
    lines = [ln for ln in out.splitlines() if "w = [" in ln]
    assert len(lines) == 4  # lstsq, CVXPY squared, CVXPY SOC, mlopt
    for ln in lines:
        w = [float(v) for v in ln.split("w = [")[1].split("]")[0].split()]
        assert w == pytest.approx([-1 / 6, 2.0], abs=1e-6)
