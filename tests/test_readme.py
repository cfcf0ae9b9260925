"""The README's python tour runs, and its two set-up commands are what CI runs."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_readme_tour_runs():
    blocks = re.findall(r"```python\n(.*?)```", README, flags=re.S)
    assert blocks, "README has no python block"
    for block in blocks:
        exec(compile(block, "README.md", "exec"), {"__name__": "__readme__"})


def test_ci_runs_the_readme_test_command():
    commands = re.findall(r"```bash\n(.*?)```", README, flags=re.S)
    test_command = next(c.strip() for c in commands if "pytest" in c)
    demo_command = next(c.strip() for c in commands if "mlopt demo" in c)
    assert "torch==2.13.0" in demo_command and "pip install" in demo_command
    assert test_command in (ROOT / ".ci" / "run").read_text()


def test_demo_command_prints_the_side_by_side_table(capsys):
    from mlopt.cli import main

    assert main(["demo", "--model", "svm", "--solvers", "clarabel,ecos"]) == 0
    out = capsys.readouterr().out
    assert "svm on breast_cancer" in out
    rows = {line.split()[0]: line.split() for line in out.splitlines() if line.split()[:1] in (["clarabel"], ["ecos"], ["sklearn"])}
    assert set(rows) == {"clarabel", "ecos", "sklearn"}
    assert rows["clarabel"][1] == "optimal" and float(rows["clarabel"][3]) < 1e-6  # relative suboptimality
