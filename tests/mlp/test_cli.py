import re

import numpy as np
import pytest

from mlopt.cli import build_parser, main


def _parse(out):
    optimum = float(re.search(r"convex: .*optimum ([0-9.eE+-]+)", out).group(1))
    best = {m.group(1): float(m.group(2)) for m in re.finditer(r"best (\w+): ([0-9.eE+-]+)", out)}
    return optimum, best


def test_cli_end_to_end_writes_png(tmp_path, capsys):
    png = tmp_path / "mlp.png"
    rc = main(["mlp", "--dataset", "diabetes", "--n-samples", "20", "--n-features", "2", "--width", "20",
               "--beta", "1e-2", "--seeds", "2", "--optimizers", "sgd,adam", "--epochs", "30",
               "--plot", str(png)])
    out = capsys.readouterr().out
    assert rc == 0
    assert png.exists() and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    optimum, best = _parse(out)
    assert set(best) == {"sgd", "adam"} and "exact" in out
    assert all(optimum <= v * (1 + 1e-6) for v in best.values())
    assert len(re.findall(r"^(sgd|adam) +\d", out, flags=re.M)) == 4


def test_cli_csv_classification(tmp_path, capsys):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((16, 3))
    label = (X[:, 0] + 0.3 * rng.standard_normal(16) > 0).astype(int)
    path = tmp_path / "data.csv"
    np.savetxt(path, np.column_stack([X, label]), delimiter=",", header="a,b,c,label", comments="")
    rc = main(["mlp", "--dataset", str(path), "--target", "label", "--n-features", "2", "--beta", "1",
               "--seeds", "1", "--optimizers", "adam", "--epochs", "20"])
    out = capsys.readouterr().out
    assert rc == 0 and "loss=logistic" in out
    optimum, best = _parse(out)
    assert optimum <= best["adam"] * (1 + 1e-6)


def test_cli_help_documents_every_option(capsys):
    with pytest.raises(SystemExit):
        main(["mlp", "--help"])
    text = capsys.readouterr().out
    sub = build_parser()._subparsers._group_actions[0].choices["mlp"]
    for action in sub._actions:
        for flag in action.option_strings:
            assert flag in text
        assert action.help


@pytest.mark.parametrize("argv, word", [(["--optimizers", "rmsprop"], "optimizers"),
                                        (["--dataset", "nope"], "dataset"),
                                        (["--n-features", "99"], "n_features")])
def test_cli_bad_input(capsys, argv, word):
    assert main(["mlp", "--seeds", "1", "--epochs", "1", *argv]) == 2
    assert word in capsys.readouterr().err
