"""`llm models` shows each consortium's summary from a cache that must never go stale."""

from __future__ import annotations

from click.testing import CliRunner
from llm.cli import cli

from llm_consortium.saved import store
from llm_consortium.saved.store import CACHE_NAME

from helpers import save


def listing() -> str:
    result = CliRunner().invoke(cli, ["models"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def test_listing_follows_a_hand_edit_after_the_cache_is_written():
    save("team", ["alpha", "beta"])
    assert "Consortium: team (members alpha, beta; arbiter judge" in listing()
    assert (store.folder() / CACHE_NAME).exists()
    path = store.path_for("team")
    path.write_text(path.read_text().replace("model_id: judge", "model_id: umpire"))
    assert "Consortium: team (members alpha, beta; arbiter umpire" in listing()


def test_listing_follows_a_save_from_another_consortium_command():
    save("team", ["alpha", "beta"])
    listing()
    save("team", ["alpha", "beta", "gamma"])
    save("other", ["alpha"])
    out = listing()
    assert "Consortium: team (members alpha, beta, gamma; arbiter judge" in out
    assert "Consortium: other (members alpha; arbiter judge" in out


def test_a_corrupt_cache_is_ignored_and_a_broken_file_reported():
    save("good", ["alpha"])
    (store.folder() / CACHE_NAME).write_text("{not json")
    store.path_for("bad").write_text("models: [")
    out = listing()
    assert "Consortium: good (members alpha; arbiter judge" in out
    assert "Consortium: bad (broken:" in out
