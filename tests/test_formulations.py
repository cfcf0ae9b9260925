"""Run every ```python block of every formulations/*.md page (each block one test).

Blocks run in a fresh namespace with matplotlib's Agg backend, from the repository
root; a block passes when it runs to the end (its asserts hold).  Pages written by
other engineers are picked up automatically.  The model pages are also checked for
the sections and links the index promises.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = ROOT / "formulations"
FENCE = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.S | re.M)

MODEL_PAGES = ["ridge.md", "lasso.md", "elastic_net.md", "svm.md", "logistic.md",
               "multinomial_logistic.md", "huber.md", "quantile.md", "group_lasso.md"]
SECTIONS = ["## The problem", "## Conic form", "## Lagrange dual", "## KKT conditions",
            "## Recovering", "## Try it"]
LINKS = ["certificates.md", "ipm.md", "convex_relu.md", "nonconvexity.md"]


def python_blocks() -> list:
    params = []
    for page in sorted(PAGES.glob("*.md")):
        text = page.read_text(encoding="utf-8")
        for i, match in enumerate(FENCE.finditer(text)):
            # pad with blank lines so tracebacks show the page's own line numbers
            code = "\n" * text[: match.start(1)].count("\n") + match.group(1)
            params.append(pytest.param(page.name, code, id=f"{page.stem}-{i}"))
    return params


@pytest.mark.parametrize("page,code", python_blocks())
def test_python_block(page, code, monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.chdir(ROOT)
    namespace = {"__name__": f"formulations_{Path(page).stem}"}
    exec(compile(code, f"formulations/{page}", "exec"), namespace)
    try:
        import matplotlib.pyplot as plt

        plt.close("all")
    except ImportError:  # pragma: no cover
        pass


@pytest.mark.parametrize("page", MODEL_PAGES)
def test_model_page_structure(page):
    text = (PAGES / page).read_text(encoding="utf-8")
    for heading in SECTIONS:
        assert heading in text, f"{page}: missing section {heading!r}"
    for link in LINKS:
        assert f"({link})" in text, f"{page}: missing link to {link}"
    assert len(FENCE.findall(text)) >= 1, f"{page}: no runnable python block"


def test_index_lists_every_model_page():
    index = (PAGES / "README.md").read_text(encoding="utf-8")
    for page in MODEL_PAGES:
        assert f"({page})" in index, f"README.md does not link {page}"
        assert (PAGES / page).is_file()
