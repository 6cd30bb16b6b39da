"""README's performance section is benchmarks/results.json rendered: figures from one run."""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks import run_all

ROOT = Path(__file__).resolve().parents[1]


def test_readme_shows_the_recorded_run() -> None:
    results = json.loads((ROOT / "benchmarks" / "results.json").read_text(encoding="utf-8"))
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index(run_all.BEGIN) : readme.index(run_all.END) + len(run_all.END)]
    hint = "run: python -m benchmarks.run_all --readme"
    assert section == run_all.render(results), hint


def test_a_target_not_met_says_so(tmp_path: Path) -> None:
    results = {
        "date": "2026-12-01 12:00 UTC",
        "full": False,
        "machine": run_all.machine(tmp_path),
        "benchmarks": {"startup": {"rows": {"dynsub --version": {"median_s": 0.5}}}},
    }
    results["targets"] = [
        {"what": t.what, "wanted": t.wanted, "value": v, "met": t.met(v)}
        for t in run_all.TARGETS
        if (v := t.value(results)) is not None
    ]
    rendered = run_all.render(results)
    assert "| `dynsub --version`, seconds | <= 0.2 | 0.5 | **not met** |" in rendered
    readme = tmp_path / "README.md"
    readme.write_text(f"before\n{run_all.BEGIN}\nold\n{run_all.END}\nafter\n", encoding="utf-8")
    assert run_all.update_readme(results, readme)
    assert readme.read_text(encoding="utf-8") == f"before\n{rendered}\nafter\n"
    assert not run_all.update_readme(results, readme)  # already matches
