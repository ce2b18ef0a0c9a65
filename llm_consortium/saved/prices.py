"""The user's price table: what each model costs, in USD per million tokens.

One place for every figure of money the plugin shows or enforces: a run's cost in
its trace, `runs` and `compare`, `eval`'s cost column and a consortium's money
budget all read this table. It is a small JSON file in the llm user dir
(`consortium-prices.json`), kept with `llm consortiums prices set/list/remove`:

    {"gpt-4o-mini": {"input": 0.15, "output": 0.6}}

Prices are keyed by the name the user gave; `for_models` finds a model's price by
any name it goes by (its id or one of its aliases).
"""

from __future__ import annotations

import json
import math
import pathlib
from collections.abc import Iterable, Mapping

import llm

from .. import files
from ..errors import FileRefused, StoreError

FILE_NAME = "consortium-prices.json"

MAX_FILE_BYTES = 1 << 20
"""The price table may hold at most this many bytes (1 MiB: some ten thousand prices)."""

FOLLOW_FLAG = "--follow-symlinks"
"""The option of `prices set` and `prices remove` that writes through a symlink out of
the llm user dir."""

Prices = dict[str, tuple[float, float]]  # model name -> (input, output) USD per million tokens


def path() -> pathlib.Path:
    """Where the table lives: beside llm's own files, so it travels with them."""
    return llm.user_dir() / FILE_NAME


def check_price(model_id: str, price_in: float, price_out: float) -> tuple[float, float]:
    """A price pair, or ValueError naming the model: negative or not finite is a typo."""
    for value in (price_in, price_out):
        if not math.isfinite(value) or value < 0:
            shown = "NaN (not a number)" if math.isnan(value) else f"{value:g}"
            raise ValueError(f"price for {model_id}: must be a number, 0 or more, got {shown}")
    return float(price_in), float(price_out)


def load() -> Prices:
    """The whole table; an absent file is an empty table, a broken one a StoreError."""
    where = path()
    try:
        text = files.read_text(where, MAX_FILE_BYTES)
    except FileNotFoundError:
        return {}
    except FileRefused as ex:
        raise StoreError(f"Cannot read the price table {ex}") from ex
    except OSError as ex:
        raise StoreError(f"Cannot read the price table {where}: {ex.strerror or ex}") from ex
    try:
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("not an object of model prices")
        return {
            str(model): check_price(str(model), float(row["input"]), float(row["output"]))
            for model, row in data.items()
        }
    except (ValueError, TypeError, KeyError) as ex:
        raise StoreError(
            f"The price table {where} is broken ({ex}); fix it or remove it "
            "and set prices again with 'llm consortiums prices set'"
        ) from ex


def _save(prices: Mapping[str, tuple[float, float]], follow_symlinks: bool) -> None:
    rows = {model: {"input": pin, "output": pout} for model, (pin, pout) in sorted(prices.items())}
    where = path()
    try:
        files.write_text_atomic(
            where, json.dumps(rows, indent=2) + "\n", follow_symlinks=follow_symlinks, flag=FOLLOW_FLAG
        )
    except FileRefused as ex:
        raise StoreError(f"Cannot write the price table {ex}") from ex
    except OSError as ex:
        raise StoreError(f"Cannot write the price table {where}: {ex.strerror or ex}") from ex


def set_price(model_id: str, price_in: float, price_out: float, *, follow_symlinks: bool = False) -> None:
    """Save one model's price, replacing any earlier one."""
    table = load()
    table[model_id] = check_price(model_id, price_in, price_out)
    _save(table, follow_symlinks)


def remove(model_id: str, *, follow_symlinks: bool = False) -> bool:
    """Forget one model's price; False when it had none."""
    table = load()
    if model_id not in table:
        return False
    del table[model_id]
    _save(table, follow_symlinks)
    return True


def for_models(
    model_ids: Iterable[str], table: Mapping[str, tuple[float, float]], names: Mapping[str, str]
) -> Prices:
    """The price of each of `model_ids` found in `table` under any of its names.

    `names` maps every name llm knows (ids and aliases) to its model's canonical id,
    as `llm.get_model_aliases()` gives it; a model missing from the result has no
    known price.
    """
    by_canonical: dict[str, tuple[float, float]] = {}
    for name, pair in table.items():
        by_canonical.setdefault(names.get(name, name), pair)
    found: Prices = {}
    for model_id in model_ids:
        price = table.get(model_id)
        if price is None:
            price = by_canonical.get(names.get(model_id, model_id))
        if price is not None:
            found[model_id] = price
    return found
