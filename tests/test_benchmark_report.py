"""The benchmark report generator (benchmarks/run_benchmarks.py): targets read off saved cells, a later
GPU-target measurement added with --add-target, the measurement date kept by --report-only."""
import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def rb():
    spec = importlib.util.spec_from_file_location("run_benchmarks", ROOT / "benchmarks" / "run_benchmarks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _cell(model, data, method, time, **extra):
    return dict(model=model, data=data, method=method, time=time, cold_time=time, warm_runs=0, iterations=12,
                objective=1.0, solver_gap=1e-10, certified_gap=1e-10, peak_rss_mb=10.0, status="solved", **extra)


def test_device_report_targets_and_added_measurement(rb, tmp_path):
    timings = dict(assemble=0.4, validate=1.0, equilibrate=0.8, setup=2.1, iterations=1.9, kkt_update=0.7,
                   kkt_solve=0.8, cones=0.1, gram=0.01)
    cells = [_cell("logistic", "5000x200", "mlopt-structured", 0.5), _cell("logistic", "5000x200", "clarabel", 20.0),
             _cell("logistic", "5000x200", "mlopt-structured-cuda", 0.25),
             _cell("logistic", "1000000x1000", "mlopt-structured-cuda", 13.0, timings=timings)]
    paths = [dict(bench="lasso_path", method="mlopt-batched-cuda", device="cuda", n=100000, d=500, wall_time_s=0.08)]
    out = tmp_path / "BENCHMARKS_GPU.md"
    out.with_suffix(".json").write_text(json.dumps(dict(cells=cells, paths=paths, grid="device", date="2026-01-02",
                                                        machine="Xeon, 16 cores, GPU NVIDIA H200 (CUDA 13.0)")))
    later = tmp_path / "target.json"
    later.write_text("noise\n" + json.dumps(_cell("logistic", "1000000x1000", "mlopt-structured-cuda", 4.5,
                                                  timings=timings)))
    with pytest.raises(SystemExit):  # the commit and machine are required
        rb.main(["--output", str(out), "--add-target", str(later)])
    assert rb.main(["--output", str(out), "--add-target", str(later), "--target-commit", "abc1234",
                    "--target-machine", "one H200"]) == 0
    text = out.read_text()
    assert "on 2026-01-02" in text  # the cells' measurement date, not today's
    assert "logistic 5000×200: mlopt 0.500 s vs CVXPY+Clarabel 20.00 s → 40.0× faster (target ≥ 50×: not met" in text
    assert "on the GPU (mlopt-structured-cuda): 0.250 s → 80.0× faster" in text
    assert "lasso path, 100 alphas, 100000×500 on cuda: 0.08 s (GPU target < 10 s: met)" in text
    assert "13.00 s end to end" in text and "(target < 5 s: not met)" in text
    assert "at commit abc1234 (a separate call: one H200): 4.50 s end to end" in text and "(target < 5 s: met)" in text
    assert "problem assembly 0.400 s, checks and upload of the data 1.000 s" in text and "approximate" in text
    saved = json.loads(out.with_suffix(".json").read_text())
    assert saved["date"] == "2026-01-02" and saved["targets"][0]["commit"] == "abc1234"
    assert saved["commit"] == "unknown" and "Code: commit unknown." in text  # the cells' commit was not saved

    # a CPU report beside it points to the GPU report's latest numbers
    cpu = tmp_path / "BENCHMARKS.md"
    cpu.with_suffix(".json").write_text(json.dumps(dict(cells=cells[:2], paths=[], grid="full", date="2026-01-01",
                                                        machine="EPYC, 2 cores", commit="fedcba9")))
    assert rb.main(["--output", str(cpu), "--report-only"]) == 0
    assert "Machine: EPYC, 2 cores.  Code: commit fedcba9." in cpu.read_text()
    assert ("not measured here (no GPU on this machine); on a GPU machine (`BENCHMARKS_GPU.md`, NVIDIA H200 (CUDA "
            "13.0)): lasso path 0.08 s (met), logistic 10⁶×1000 4.50 s (met).") in cpu.read_text()


def _rounds(model, data, methods, times_per_round):
    """Later-round cells: round k (from 1) times the methods with ``times_per_round[k − 1]``."""
    return [dict(_cell(model, data, m, t), round=k) for k, times in enumerate(times_per_round, start=1)
            for m, t in zip(methods, times)]


def _report(rb, tmp_path, cells, rounds):
    """(path, text) of the CPU report regenerated from a saved run of ``cells`` and ``rounds``."""
    out = tmp_path / "BENCHMARKS.md"
    out.with_suffix(".json").write_text(json.dumps(dict(cells=cells, paths=[], grid="full", date="2026-01-01",
                                                        machine="EPYC, 2 cores", commit="abc", rounds=rounds)))
    assert rb.main(["--output", str(out), "--report-only"]) == 0
    return out, out.read_text()


def test_target_rounds_spread(rb, tmp_path):
    """The target cells' later rounds (same run) give the spread of the ratios under the grid's own line."""
    cells = [_cell("logistic", "5000x200", "mlopt-structured", 0.25), _cell("logistic", "5000x200", "clarabel", 12.5),
             _cell("logistic", "5000x200", "sklearn", 0.05), _cell("svm", "5000x200", "mlopt-structured", 0.2),
             _cell("svm", "5000x200", "clarabel", 5.0)]
    rounds = _rounds("logistic", "5000x200", ("mlopt-structured", "clarabel", "sklearn"),
                     [(0.25, 11.0, 0.04), (0.2, 12.0, 0.05), (0.3, 12.0, 0.05)])
    rounds.append(dict(_cell("svm", "5000x200", "clarabel", 5.0), round=1))  # no mlopt cell in that round: unused
    out, text = _report(rb, tmp_path, cells, rounds)
    assert "logistic 5000×200: mlopt 0.250 s vs CVXPY+Clarabel 12.50 s → 50.0× faster (target ≥ 50×: met" in text
    # × Clarabel per round: 44, 60, 40; mlopt / scikit-learn: 6.25, 4, 6
    assert ("  - 3 more rounds of these cells right after the grid, methods interleaved: × CVXPY+Clarabel "
            "40.0–60.0× (median 44.0×; ≥ 50× in 1 of 3); mlopt / scikit-learn 4.0–6.2× "
            "(median 6.0×; ≤ 5× in 1 of 3).") in text
    assert text.count("more rounds of these cells") == 1  # the SVM round without an mlopt cell gives no line
    # a later GPU-target measurement rewrites the JSON and keeps the rounds
    later = tmp_path / "target.json"
    later.write_text(json.dumps(_cell("logistic", "1000000x1000", "mlopt-structured-cuda", 4.5)))
    assert rb.main(["--output", str(out), "--add-target", str(later), "--target-commit", "def",
                    "--target-machine", "one H200"]) == 0
    assert json.loads(out.with_suffix(".json").read_text())["rounds"] == rounds
    assert "median 44.0×" in out.read_text()


def test_lasso_rounds_spread_under_the_three_times_line(rb, tmp_path):
    """The lasso cells nearest the ≤ 3× line are measured again, interleaved; the report gives their spread."""
    cells = [_cell("lasso", "real", "mlopt-structured", 0.0015), _cell("lasso", "real", "sklearn", 0.0005),
             _cell("lasso", "1000x50", "mlopt-structured", 0.002), _cell("lasso", "1000x50", "sklearn", 0.001)]
    rounds = _rounds("lasso", "real", ("mlopt-structured", "sklearn"), [(0.0012, 0.0005), (0.0010, 0.0005),
                                                                          (0.0016, 0.0005)])
    rounds.append(dict(_cell("lasso", "1000x50", "sklearn", 0.001), round=1))  # no mlopt cell: no ratio
    _, text = _report(rb, tmp_path, cells, rounds)
    assert "- lasso: mlopt time / scikit-learn time = real 3.0, 1000x50 2.0 (target ≤ 3: met)." in text
    assert ("  - more rounds of the cells closest to the line, right after the grid, methods interleaved: "
            "real 2.0–3.2 (median 2.4; ≤ 3 in 2 of 3).") in text
    assert ("lasso", "real") in rb.TARGET_CELLS and rb.TARGET_CELLS[("lasso", "real")] == ["mlopt-structured", "sklearn"]


def test_each_path_benchmark_gets_its_section_and_only_the_lasso_path_is_a_target(rb, tmp_path):
    def row(bench, method, device, wall, **extra):
        return dict(bench=bench, method=method, device=device, n=100000, d=500, n_alphas=10, wall_time_s=wall,
                    max_rel_obj_diff=0.0, max_cert_gap=1e-14, statuses={"solved": 10}, **extra)

    paths = [row("lasso_path", "mlopt-batched-cuda", "cuda", 0.08),
             row("logistic_path", "mlopt-batched-cpu", "cpu", 2.0, methods={"newton": 10}),
             row("logistic_path", "mlopt-batched-cuda", "cuda", 12.5),
             row("logistic_path", "sklearn", "cpu", 3.0)]
    out = tmp_path / "BENCHMARKS_GPU.md"
    out.with_suffix(".json").write_text(json.dumps(dict(cells=[], paths=paths, grid="device", date="2026-01-02",
                                                        machine="Xeon, 16 cores, GPU NVIDIA H200 (CUDA 13.0)")))
    assert rb.main(["--output", str(out), "--report-only"]) == 0
    text = out.read_text()
    assert "## lasso path (100 alphas)" in text and "## logistic regression path (10 values of C)" in text
    logistic = text.split("## logistic regression path")[1]
    assert "| 100000x500 | sklearn | cpu | 3.000 | 1.5 |" in logistic and "finished by newton 10" in logistic
    # the 10-second GPU target is the lasso path's: the logistic row (12.5 s) is not read as it
    assert "lasso path, 100 alphas, 100000×500 on cuda: 0.08 s (GPU target < 10 s: met)" in text
    assert "12.50 s (GPU target" not in text


def test_screened_svm_cells_say_so(rb, tmp_path):
    screened = dict(_cell("svm", "5000x200", "mlopt-structured", 0.08),
                    screening=dict(rounds=1, samples=675, bound=1801, newton_steps=16))
    fallback = dict(_cell("svm", "1000x50", "mlopt-structured", 0.02), screening={"fallback": True})
    _, text = _report(rb, tmp_path, [screened, fallback, _cell("svm", "5000x200", "clarabel", 5.0)], [])
    assert "screened: IPM on 675 samples, 1801 fixed at a = C (1 round, 16 predictor steps) |" in text
    assert "screening not certified: full program solved |" in text
