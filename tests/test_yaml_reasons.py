"""A YAML syntax error keeps its whole reason: PyYAML's sentence with its own words
(the token it expected, the kind of tag), never the file's text (an alias's name, a
tag's Python name, a character)."""

from __future__ import annotations

import pytest

from llm_consortium.errors import StoreError
from llm_consortium.saved import reading

from helpers import refused

SECRET = "Q7Zsecret"


@pytest.mark.parametrize(
    "text, reason",
    [
        ("models: [a, b\nname: x\n", "not valid YAML (line 2): did not find expected ',' or ']'"),
        ("models: {a: 1\n", "not valid YAML (line 2): did not find expected ',' or '}'"),
        ("models:\n- a\nname: x\n  b: c\n", "not valid YAML (line 4): mapping values are not allowed in this context"),
        ("- a\nb: c\n", "not valid YAML (line 2): did not find expected '-' indicator"),
        (f"models: !!python/object:{SECRET} {{}}\n", "not valid YAML (line 1): could not determine a constructor for the tag !!python/object:…"),
        (f"models: !!python/name:{SECRET} x\n", "not valid YAML (line 1): could not determine a constructor for the tag !!python/name:…"),
        (f"models: !{SECRET} x\n", "not valid YAML (line 1): could not determine a constructor for the tag !…"),
        (f"models: *{SECRET}\n", "not valid YAML (line 1): found undefined alias"),
        (f"a: &{SECRET} 1\nb: &{SECRET} 2\n", "not valid YAML (line 2): found duplicate anchor; first occurrence (line 1), second occurrence"),
        ("name: x\nmodels: \x07\n", "not valid YAML (line 2): control characters are not allowed (#x0007)"),
    ],
)
def test_the_whole_reason_and_none_of_the_content(text, reason):
    with pytest.raises(StoreError) as caught:
        reading.load_yaml(text)
    assert str(caught.value) == reason


def test_a_tag_is_named_as_far_as_yaml_names_it():
    assert reading.shown_tag("tag:yaml.org,2002:python/object/apply:os.system") == "!!python/object/apply:…"
    assert reading.shown_tag("tag:yaml.org,2002:python/tuple") == "!!python/tuple"
    assert reading.shown_tag(f"tag:yaml.org,2002:python/tuple{SECRET}") == "!!…"
    assert reading.shown_tag(f"tag:example.com,2000:{SECRET}") == "!…"


def test_show_and_list_say_the_whole_reason(user_path):
    folder = user_path / "consortiums"
    folder.mkdir()
    (folder / "bad.yaml").write_text("models: [{model_id: a}\nname: bad\n")
    assert refused("show", "bad") == f"Error: {folder / 'bad.yaml'}: not valid YAML (line 2): did not find expected ',' or ']'"
