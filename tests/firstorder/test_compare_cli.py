"""The compare harness and the ``mlopt compare`` command, end to end on small data."""
from __future__ import annotations

import csv
import io
import re

import numpy as np
import pytest

from mlopt import Ridge
from mlopt.cli import build_parser, main
from mlopt.compare import compare, plot_convergence


def test_table_well_conditioned(bank, tmp_path):
    est, X, y, obj, fstar, *_ = bank["logistic"]
    table = compare(est, X[:200], y[:200], methods=["clarabel", "lbfgs", "fista", "newton", "sklearn"],
                    X_test=X[200:], y_test=y[200:], time_limit=10, tol=1e-9)
    for row in table:
        assert row.error is None
        assert row.suboptimality <= 1e-6
        assert row.gap is not None and row.gap <= 1e-6
        assert 0.8 < row.test_score <= 1.0
    text = str(table)
    assert "clarabel" in text and "rel_subopt" in text
    md = table.to_markdown()
    assert md.count("\n") == 2 + 5
    rows = list(csv.DictReader(io.StringIO(table.to_csv(tmp_path / "t.csv"))))
    assert [r["method"] for r in rows] == ["clarabel", "lbfgs", "fista", "newton", "sklearn"]
    assert (tmp_path / "t.csv").exists()
    png = plot_convergence(table, str(tmp_path / "c.png"))
    assert open(png, "rb").read(8) == b"\x89PNG\r\n\x1a\n"


def test_table_ill_conditioned_is_honest():
    """Nearly collinear features, tiny ridge: plain GD cannot finish in the budget, and says so."""
    rng = np.random.default_rng(0)
    base = rng.standard_normal((300, 3))
    X = np.hstack([base, base + 1e-4 * rng.standard_normal((300, 3))])
    y = base @ np.array([1.0, -2.0, 0.5]) + 0.1 * rng.standard_normal(300)
    table = compare(Ridge(1e-6), X, y, methods=["clarabel", "newton", "gd"], time_limit=1.0)
    assert table["newton"].suboptimality <= 1e-6
    assert table["gd"].status != "optimal" and table["gd"].suboptimality > 1e-6
    for row in table:
        if row.status == "optimal" and row.method in ("gd", "newton"):
            assert row.suboptimality <= 1e-6


def test_cli_end_to_end(tmp_path, capsys):
    png, out_csv, md = tmp_path / "out.png", tmp_path / "t.csv", tmp_path / "t.md"
    rc = main(["compare", "--model", "logistic", "--dataset", "breast_cancer", "--max-samples", "150",
               "--methods", "clarabel,lbfgs,adam,sklearn", "--C", "0.1", "--time-limit", "5",
               "--plot", str(png), "--csv", str(out_csv), "--markdown", str(md)])
    assert rc == 0
    out = capsys.readouterr()
    assert "lbfgs" in out.out and "reference objective" in out.out
    assert "4/4" in out.err  # progress bar
    assert png.read_bytes()[:4] == b"\x89PNG"
    assert out_csv.read_text().startswith("method,")
    assert md.read_text().startswith("| method")


@pytest.mark.parametrize("model,flag", [("lasso", "--alpha"), ("svm", "--C")])
def test_cli_other_models(tmp_path, capsys, model, flag):
    ds = "diabetes" if model == "lasso" else "breast_cancer"
    rc = main(["compare", "--model", model, "--dataset", ds, "--max-samples", "120", flag, "0.1",
               "--methods", "clarabel,fista" if model == "lasso" else "clarabel,smoothed", "--time-limit", "2",
               "--quiet"])
    assert rc == 0
    assert "clarabel" in capsys.readouterr().out


def test_cli_help_documents_every_option(capsys):
    parser = build_parser()
    sub = parser._subparsers._group_actions[0].choices["compare"]
    with pytest.raises(SystemExit):
        main(["compare", "--help"])
    text = capsys.readouterr().out
    for action in sub._actions:
        for opt in action.option_strings:
            assert opt in text
        assert action.help, action.option_strings
    assert re.search(r"--time-limit", text) and "--target" in text
