"""The HTML trace's confidence chart: the "threshold 0.7" label is readable, never
behind a confidence bar. Checked from the SVG's geometry everywhere, and in headless
Chromium where it is installed (skipped, saying why, elsewhere)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from test_eval_browser import CHROMIUM, chromium

from llm_consortium.history.logged_runs import Run
from llm_consortium.render import trace_html

from helpers import parse_page

needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (apt-get install chromium)")


def _run(threshold: float, *confidences: float) -> Run:
    rounds = [
        {"round": n, "members": [{"model": "alpha", "text": "x"}], "arbiter": {"model": "judge", "confidence": c},
         "confidence": c}
        for n, c in enumerate(confidences, 1)
    ]
    stored = {"consortium": "c", "rounds": rounds, "final_round": len(rounds), "confidence": confidences[-1],
              "confidence_threshold": threshold, "status": "complete"}
    return Run(id="01J", datetime_utc="2025-01-01T00:00:00", duration_ms=10, input_tokens=1, output_tokens=1,
               prompt="q", response="a", stored=stored)


def test_the_threshold_label_starts_right_of_every_bar():
    svg = trace_html.confidence_chart(_run(0.7, 0.3, 0.95).trace["rounds"], 2, 0.7)
    label = re.search(r'<text class="threshold" x="([\d.]+)"[^>]*text-anchor="start"[^>]*>threshold 0.7</text>', svg)
    assert label, svg
    bars = [float(x) + float(w) for x, w in re.findall(r'<rect x="([\d.]+)" y="[\d.]+" width="([\d.]+)"', svg)]
    assert len(bars) == 2 and float(label.group(1)) > max(bars)
    room = float(re.search(r'<svg[^>]* width="([\d.]+)"', svg).group(1)) - float(label.group(1))
    assert room >= len("threshold 0.85") * 6.5  # the label's width in the chart's 12 px font


MEASURE = """<script>
addEventListener("load", () => {
  const box = e => e.getBoundingClientRect();
  const meets = (a, b) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
  const label = [...document.querySelectorAll("svg text")].find(t => t.textContent.startsWith("threshold"));
  const r = box(label), svg = box(label.ownerSVGElement);
  const found = {
    text: label.textContent,
    onBars: [...document.querySelectorAll("svg rect")].filter(b => meets(r, box(b))).length,
    onText: [...document.querySelectorAll("svg text")].filter(t => t !== label && meets(r, box(t))).length,
    inside: r.left >= svg.left && r.right <= svg.right && r.top >= svg.top && r.bottom <= svg.bottom,
  };
  const out = document.createElement("pre");
  out.id = "measured";
  out.textContent = JSON.stringify(found);
  document.body.append(out);
});
</script>"""


@needs_chromium
@pytest.mark.parametrize("threshold, confidences", [(0.7, (0.3, 0.95)), (0.85, (0.52, 0.9, 1.0)), (1.0, (1.0,))])
def test_in_a_browser_the_label_touches_no_bar_and_no_other_text(tmp_path: Path, threshold, confidences):
    page, measured = tmp_path / "trace.html", tmp_path / "measured.html"
    page.write_text(trace_html.render(_run(threshold, *confidences)), encoding="utf-8")
    parse_page(page)  # the page itself holds no script: the measuring one goes in a copy
    measured.write_text(page.read_text(encoding="utf-8").replace("</body>", MEASURE + "</body>"), encoding="utf-8")
    dom = chromium("--virtual-time-budget=5000", "--dump-dom", measured.as_uri())
    found = json.loads(re.search(r'<pre id="measured">(.*?)</pre>', dom, re.S).group(1).replace("&quot;", '"'))
    assert found == {"text": f"threshold {threshold:g}", "onBars": 0, "onText": 0, "inside": True}

