"""`create` warns (and still saves) when a consortium would not run as asked: a peer
review that cannot happen (only copies of one model), and an arbiter whose stated
context window is smaller than a typical judging prompt."""

from __future__ import annotations

import llm
import pytest

from llm_consortium.saved import store

from helpers import consortiums_run, registered


class SmallWindow(llm.Model):
    """A local-engine-like model that states its context window, as llm-gguf does (`n_ctx`)."""

    model_id = "smol"

    def __init__(self, model_id: str = "smol", n_ctx: int = 512) -> None:
        self.model_id = model_id
        self.n_ctx = n_ctx

    def execute(self, prompt, stream, response, conversation):
        yield "ok"


class Plugin:
    @llm.hookimpl
    def register_models(self, register):
        register(SmallWindow("smol", 512))
        register(SmallWindow("roomy", 32768))
        register(SmallWindow("unsaid", 0))  # n_ctx 0: "from the model", not stated


@pytest.fixture
def models(user_path):
    with registered(Plugin(), "small-window-plugin"):
        yield


def create(*args):
    result = consortiums_run("create", *args)
    assert result.exit_code == 0, result.output
    return result


def test_review_with_only_copies_of_one_model_warns_and_still_saves(models):
    result = create("copies", "-m", "roomy:3", "--review")
    assert result.stderr == (
        "Warning: --review: no review will happen: every member is a copy of 'roomy', and copies do not "
        "review each other; add members of other models or drop --review\n"
    )
    assert store.load("copies").review is True
    # one answer of another model each is not enough to rank either
    assert "no member has two other models' answers" in create("pair", "-m", "roomy", "-m", "unsaid",
                                                               "--review").stderr
    # two copies of one model and another model: the other one reviews them
    assert create("mixed", "-m", "roomy:2", "-m", "unsaid", "--review").stderr == ""


def test_an_arbiter_whose_context_window_cannot_hold_a_judging_prompt_warns(models):
    from llm_consortium.cli import create_checks

    result = create("tiny-judge", "-m", "roomy:2", "-a", "smol")
    needed = create_checks.typical_judging_tokens(2)
    assert result.stderr == (
        f"Warning: the arbiter 'smol''s context window (512 tokens) is smaller than a typical judging prompt "
        f"with 2 answers and its reply ({needed}); its window is stated by its plugin: it is sent a compact judging "
        "prompt, long answers cut to fit or judged in steps; an arbiter with a larger context window (or a larger "
        "n_ctx) judges with the full instructions\n"
    )
    assert store.load("tiny-judge").arbiter.model_id == "smol"
    assert create("big-judge", "-m", "smol:2", "-a", "roomy").stderr == ""
    assert create("unknown-window", "-m", "roomy:2", "-a", "unsaid").stderr == ""  # nothing stated, nothing guessed


def test_the_window_comes_from_options_attributes_or_option_defaults():
    from llm_consortium.calls.context_window import stated
    from llm_consortium.cli import create_checks

    class Options(llm.Options):
        num_ctx: int = 2048

    class Ollama(llm.Model):
        model_id = "o"

        def execute(self, prompt, stream, response, conversation):
            yield "ok"

    Ollama.Options = Options
    assert stated(Ollama(), {}) == 2048
    assert stated(Ollama(), {"num_ctx": "8192"}) == 8192
    assert stated(SmallWindow("s", 4096), {}) == 4096
    assert stated(SmallWindow("s", 0), {}) is None
    assert 1000 < create_checks.typical_judging_tokens(2) < create_checks.typical_judging_tokens(5)
