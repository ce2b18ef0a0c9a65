"""eval's HTML page in a real browser (Debian's chromium, headless): the accuracy
chart tells a member and a baseline of one model apart, no point's name sits on
another point's interval bar or on another name, and a table too wide for a 1,400 px
window scrolls inside its own box instead of the page.

The page itself holds no script (it must open offline, safely); the test writes a
copy with a measuring script added and reads the browser's verdict back from the
DOM it dumps. Skipped, saying why, where chromium is not installed."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from llm_consortium.evaluation import figures, report_html

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (apt-get install chromium)")

# Names as a user's models might be called: the baseline asks the same model (e1)
# that is also a member, so both points would be "e1".
SYSTEMS = [
    {"key": "consortium:c1", "kind": "consortium", "name": "c1", "of": ["c1"]},
    {"key": "consortium:c2", "kind": "consortium", "name": "c2", "of": ["c2"]},
    {"key": "member:e1", "kind": "member", "name": "e1", "of": ["c1", "c2"]},
    {"key": "member:e2", "kind": "member", "name": "e2", "of": ["c1"]},
    {"key": "member:gpt-4o-mini-2024-07-18", "kind": "member", "name": "gpt-4o-mini-2024-07-18", "of": ["c2"]},
    {"key": "baseline:c1", "kind": "baseline", "name": "e1", "of": ["c1"]},
    {"key": "baseline:c2", "kind": "baseline", "name": "e1", "of": ["c2"]},
]
# right answers out of 10 per system, and calls per item: points close together
RIGHT = {"consortium:c1": 7, "consortium:c2": 6, "member:e1": 6, "member:e2": 5,
         "member:gpt-4o-mini-2024-07-18": 7, "baseline:c1": 6, "baseline:c2": 7}
CALLS = {"consortium:c1": 3, "consortium:c2": 3, "member:e1": 1, "member:e2": 1,
         "member:gpt-4o-mini-2024-07-18": 1, "baseline:c1": 2, "baseline:c2": 1}
EXTRA = {"baseline:c2": 2}  # one more call on this many items: 12 calls, just right of the members' 10
LONG = "a very long answer that goes on " * 12 + "https://example.invalid/" + "x" * 300


def page(tmp_path: Path) -> Path:
    rows = []
    for item in range(10):
        for system in SYSTEMS:
            key = system["key"]
            rows.append({
                "item": item, "line": item + 1, "system": key, "kind": system["kind"], "name": system["name"],
                "answer": LONG, "correct": (item + len(key)) % 10 < RIGHT[key], "error": None,
                "calls": CALLS[key] + (item < EXTRA.get(key, 0)), "input_tokens": None, "output_tokens": None, "usage": {},
                "latency_ms": 100, "own_ms": 100, "wait_ms": 0,
            })
    built = figures.build(consortiums=["c1", "c2"], dataset="d.jsonl", items=10, systems=SYSTEMS, rows=rows)
    items = [{"index": i, "line": i + 1, "prompt": f"question {i}: " + LONG, "expected": "x"} for i in range(10)]
    path = tmp_path / "report.html"
    path.write_text(report_html.render(built, items), encoding="utf-8")
    return path


MEASURE = """<script>
addEventListener("load", () => {
  const box = e => e.getBoundingClientRect();
  const meets = (a, b) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
  const chart = [...document.querySelectorAll("svg")].find(s => s.querySelector("text.label"));
  const labels = [...chart.querySelectorAll("text.label")];
  const bars = [...chart.querySelectorAll('line[stroke-width="2"]')].map(box);  // the interval bars
  const dots = [...chart.querySelectorAll("circle")].map(box);
  const found = {labels: labels.map(l => l.firstChild.textContent), onBars: 0, onDots: 0, onLabels: 0};
  labels.forEach((l, i) => {
    const r = box(l);
    found.onBars += bars.filter(b => meets(r, {...b.toJSON(), left: b.left - 1, right: b.right + 1})).length;
    found.onDots += dots.filter(d => meets(r, d)).length;
    found.onLabels += labels.filter((m, j) => j > i && meets(r, box(m))).length;
    found.inside = (found.inside ?? true) && r.right <= box(chart).right && r.left >= box(chart).left;
  });
  found.legend = [...chart.querySelectorAll("text.legend")].map(t => t.textContent);
  const root = document.documentElement;
  found.pageScrollsSideways = root.scrollWidth > root.clientWidth;
  found.tables = [...document.querySelectorAll("table")].map(t => {
    const holder = t.parentElement;
    return {boxed: getComputedStyle(holder).overflowX === "auto" && box(holder).right <= root.clientWidth,
            wider: t.scrollWidth > holder.clientWidth};
  });
  const out = document.createElement("pre");
  out.id = "measured";
  out.textContent = JSON.stringify(found);
  document.body.append(out);
});
</script>"""


def chromium(*args: str) -> str:
    assert CHROMIUM is not None
    profile = subprocess.run(["mktemp", "-d"], capture_output=True, text=True, check=True).stdout.strip()
    done = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
         "--window-size=1400,900", *args],
        capture_output=True, text=True, timeout=90,
    )
    shutil.rmtree(profile, ignore_errors=True)
    return done.stdout


@pytest.fixture(scope="module")
def measured(tmp_path_factory):
    """What the browser measured on the page, at a 1,400 px wide window (one run)."""
    if CHROMIUM is None:
        pytest.skip("needs Debian's chromium (apt-get install chromium)")
    folder = tmp_path_factory.mktemp("page")
    measured_page = folder / "measured.html"
    measured_page.write_text(page(folder).read_text(encoding="utf-8").replace("</body>", MEASURE + "</body>"),
                             encoding="utf-8")
    dom = chromium("--virtual-time-budget=5000", "--dump-dom", measured_page.as_uri())
    return json.loads(re.search(r'<pre id="measured">(.*?)</pre>', dom, re.S).group(1).replace("&quot;", '"'))


@needs_chromium
def test_a_member_and_a_baseline_of_one_model_are_told_apart(measured):
    assert "member e1" in measured["labels"] and "baseline e1 (budget of c1)" in measured["labels"]
    assert len(set(measured["labels"])) == len(SYSTEMS)
    assert measured["legend"] == ["consortium", "member", "baseline"]


@needs_chromium
def test_no_name_sits_on_an_interval_bar_a_point_or_another_name(measured):
    assert (measured["onBars"], measured["onDots"], measured["onLabels"], measured["inside"]) == (0, 0, 0, True)


@needs_chromium
def test_a_table_wider_than_the_window_scrolls_in_its_own_box_not_the_page(measured):
    assert not measured["pageScrollsSideways"]
    assert all(t["boxed"] for t in measured["tables"]) and any(t["wider"] for t in measured["tables"])
