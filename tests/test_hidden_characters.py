"""Characters that reorder or hide text (bidi overrides, zero-width and tag
characters) and raw controls never reach a terminal or an HTML page as themselves:
through llm's real CLI and OpenAI plugin against the loopback server."""

from __future__ import annotations

import json
import re

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
    for args in (["consortiums", "list"], ["models"]):
        result = llm_run(*args)
        assert result.exit_code == 0, (args, result.output)
        assert not HIDDEN.search(result.output), (args, result.output)
    assert "alpha-alpha" in llm_run("consortiums", "list").stdout
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
