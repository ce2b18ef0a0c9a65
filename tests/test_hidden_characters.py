"""Characters that reorder or hide text (bidi overrides, zero-width and tag
characters) and raw controls never reach a terminal or an HTML page as themselves:
through llm's real CLI and OpenAI plugin against the loopback server."""

from __future__ import annotations

import json
import re

from llm_consortium.render.page import BASE_CSS

from helpers import llm_run, save, verdict
from loopback import reply

RLO = "\u202e"
#: A model id that a terminal would show as "alpha-ahpla" when printed raw.
ODD_ID = f"alpha-{RLO}alpha"
#: Anything a terminal would act on or a reader would not see.
HIDDEN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff\u2028\u2029]")


def test_an_override_in_a_model_id_is_not_shown_by_list_or_models(user_path):
    folder = user_path / "consortiums"
    folder.mkdir()
    (folder / "odd.yaml").write_text(
        json.dumps({"models": [{"model_id": ODD_ID}], "arbiter": {"model_id": f"judge{RLO}\u2066x"}}),
        encoding="utf-8",
    )
    for args in (["consortiums", "list"], ["models"], ["consortiums", "show", "odd"]):
        result = llm_run(*args)
        assert result.exit_code == 0, (args, result.output)
        assert not HIDDEN.search(result.output), (args, result.output)
    # A summary line shows an id's hidden characters escaped: it names another model than `alpha-alpha`.
    assert "members alpha-\\u202ealpha; arbiter judge\\u202e\\u2066x;" in llm_run("consortiums", "list").stdout
    # As JSON the id is still the same data, the override escaped.
    listed = llm_run("consortiums", "list", "--json").stdout
    assert RLO not in listed and "\\u202e" in listed
    assert ODD_ID in json.dumps(json.loads(listed), ensure_ascii=False)


def test_an_override_in_a_member_id_and_its_answer_is_not_shown_by_trace(loopback, openai_models):
    openai_models([ODD_ID, "judge"])
    save("c", [ODD_ID], retries=0)
    loopback.script(ODD_ID, reply(f"left {RLO}right\u200b\U000e0041 done"))
    loopback.script("judge", reply(verdict(f"fine {RLO}reversed", 0.9)))
    assert llm_run("-m", "c", "q").exit_code == 0
    for args in (["trace", "--full"], ["trace"], ["runs"], ["trace", "--json"], ["runs", "--json"]):
        result = llm_run("consortiums", *args)
        assert result.exit_code == 0, args
        assert not HIDDEN.search(result.stdout), (args, result.stdout)
    text = llm_run("consortiums", "trace", "--full").stdout
    assert "alpha-alpha" in text and "left right done" in text and "fine reversed" in text
    member = json.loads(llm_run("consortiums", "trace", "--json").stdout)["rounds"][0]["members"][0]
    assert member["model"] == ODD_ID and member["text"] == f"left {RLO}right\u200b\U000e0041 done"


# ------------------------------------------------------------------ HTML pages

#: What an HTML5 parser reports as an invalid code point (C0 controls but tab, LF, FF
#: and CR; DEL and C1; surrogates; noncharacters), plus bidi controls left raw.
INVALID_IN_HTML = re.compile(
    "[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff"
    "\U0001fffe\U0001ffff\U0010fffe\U0010ffff\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)
NASTY = f"Sure.\x1b]0;title\x07 \x1b[31mred\x1b[0m \x9b2J {RLO}desrever\u2066 \x00\x08\x7f\ufffe\U0010ffff end"


def test_a_trace_page_shows_controls_and_overrides_as_visible_markers(loopback, openai_models, tmp_path):
    openai_models([ODD_ID, "judge"])
    save("c", [ODD_ID], retries=0)
    loopback.script(ODD_ID, reply(NASTY))
    loopback.script("judge", reply(verdict(NASTY, 0.9, areas=NASTY)))
    assert llm_run("-m", "c", NASTY).exit_code == 0
    page = tmp_path / "run.html"
    assert llm_run("consortiums", "trace", "--html", str(page)).exit_code == 0
    html = page.read_text(encoding="utf-8")
    assert not INVALID_IN_HTML.search(html), INVALID_IN_HTML.search(html)
    assert "alpha-[U+202E]alpha" in html  # the member's id, in its card
    assert "Sure.[U+001B]]0;title[U+0007] [U+001B][31mred" in html and "[U+202E]desrever[U+2066]" in html
    assert "[U+0000][U+0008][U+007F][U+FFFE][U+10FFFF] end" in html
    assert BASE_CSS in html


def test_an_eval_page_shows_controls_and_overrides_as_visible_markers(loopback, openai_models, tmp_path):
    openai_models(["alpha", "beta", "judge"])
    save("c", ["alpha", "beta"], arbiter="judge", retries=0)
    loopback.script("alpha", reply(NASTY))
    loopback.script("beta", reply(f"4{RLO}"))  # right where the consortium is wrong: the item is shown
    loopback.script("judge", reply(verdict(NASTY, 0.9)))
    data = tmp_path / "qa.jsonl"
    data.write_text(json.dumps({"prompt": NASTY, "expected": f"4{RLO}"}) + "\n", encoding="utf-8")
    page = tmp_path / "report.html"
    result = llm_run("consortiums", "eval", "c", str(data), "--html", str(page), "--no-baseline")
    assert result.exit_code == 0, result.output
    html = page.read_text(encoding="utf-8")
    assert not INVALID_IN_HTML.search(html), INVALID_IN_HTML.search(html)
    assert "[U+202E]desrever[U+2066]" in html and "4[U+202E]" in html
    assert BASE_CSS in html  # the one page skeleton, shared with the trace page
