"""What calls cost and whether the next ones fit a budget: pure arithmetic on the
per-model usage rows a run keeps (`{"calls", "input", "output", ...}` by model id)
and a price table (model id -> USD per million input and output tokens).

Standard library only, so the engine checks its budget with the same functions that
`runs`, `compare` and `eval` use to show a cost: one meaning, one implementation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..text.words import plural

Prices = Mapping[str, tuple[float, float]]  # model id -> (input, output) USD per 1M tokens
PerModel = Mapping[str, Mapping[str, Any]]  # model id -> {"calls", "input", "output", "cost"?}

PER = 1_000_000


def row_cost(model_id: str, row: Mapping[str, Any], prices: Prices) -> float | None:
    """One model's cost: the provider's own figure when it reported one for every
    call (`cost`), else its tokens at the table's price; None when neither is known."""
    if row.get("cost") is not None:
        return float(row["cost"])
    if model_id not in prices:
        return None
    price_in, price_out = prices[model_id]
    return ((row.get("input") or 0) * price_in + (row.get("output") or 0) * price_out) / PER


def cost(per_model: PerModel, prices: Prices) -> float | None:
    """What a run's calls cost in USD; None when some model's price is unknown."""
    total = 0.0
    for model_id, row in per_model.items():
        value = row_cost(model_id, row, prices)
        if value is None:
            return None
        total += value
    return round(total, 10)


def tokens(per_model: PerModel) -> int:
    """Input and output tokens of every call, the total a token budget counts."""
    return sum((row.get("input") or 0) + (row.get("output") or 0) for row in per_model.values())


def unpriced(model_ids: Sequence[str], prices: Prices) -> list[str]:
    """The models (each once, in order) a money budget cannot be checked for."""
    return [m for m in dict.fromkeys(model_ids) if m not in prices]


def _per_call(model_id: str, per_model: PerModel, prices: Prices) -> tuple[float, float]:
    """(tokens, USD) one more call to `model_id` is expected to cost: its own average
    so far, else the average of every call so far, else nothing known (0, 0)."""
    row = per_model.get(model_id)
    if row and row.get("calls"):
        spent = row_cost(model_id, row, prices) or 0.0
        return tokens({model_id: row}) / row["calls"], spent / row["calls"]
    calls = sum(r.get("calls") or 0 for r in per_model.values())
    if not calls:
        return 0.0, 0.0
    average_tokens = tokens(per_model) / calls
    if model_id in prices:  # its own price, for the average call's tokens
        inputs = sum(r.get("input") or 0 for r in per_model.values()) / calls
        outputs = sum(r.get("output") or 0 for r in per_model.values()) / calls
        price_in, price_out = prices[model_id]
        return average_tokens, (inputs * price_in + outputs * price_out) / PER
    return average_tokens, (cost(per_model, prices) or 0.0) / calls


def estimate(model_ids: Sequence[str], per_model: PerModel, prices: Prices) -> tuple[float, float]:
    """(tokens, USD) the calls of the next step (one per id, repeats included) are
    expected to cost, judged from what this run's calls have cost so far."""
    total_tokens = total_usd = 0.0
    for model_id in model_ids:
        more_tokens, more_usd = _per_call(model_id, per_model, prices)
        total_tokens += more_tokens
        total_usd += more_usd
    return total_tokens, total_usd


def over_budget(
    next_models: Sequence[str],
    per_model: PerModel,
    prices: Prices,
    budget_tokens: int | None,
    budget_usd: float | None,
) -> str | None:
    """Why the next step must not run (it could pass a budget), or None when it fits.

    Checked before each round and each tier: what was spent plus what the next
    step is expected to cost. Before any call nothing is known, so only a budget of
    0 stops the first step."""
    if not next_models:
        return None
    calls = len(next_models)
    step = f"the next step ({plural(calls, 'call')})"
    more_tokens, more_usd = estimate(next_models, per_model, prices)
    if budget_tokens is not None:
        spent = tokens(per_model)
        if spent + more_tokens > budget_tokens or (spent >= budget_tokens and calls):
            return (
                f"{step} could pass the token budget of {budget_tokens:,} "
                f"({spent:,} spent, about {round(more_tokens):,} more expected)"
            )
    if budget_usd is not None:
        spent_usd = cost(per_model, prices) or 0.0
        if spent_usd + more_usd > budget_usd or (spent_usd >= budget_usd and calls):
            return (
                f"{step} could pass the budget of ${budget_usd:g} "
                f"(${spent_usd:.4f} spent, about ${more_usd:.4f} more expected)"
            )
    return None
