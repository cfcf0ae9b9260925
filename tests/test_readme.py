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
