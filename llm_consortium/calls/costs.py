"""What calls cost and whether the next ones fit a budget: pure arithmetic on the
per-model usage rows a run keeps (`{"calls", "input", "output", ...}` by model id)
and a price table (model id -> USD per million input and output tokens).

Standard library only, so the engine checks its budget with the same functions that
`runs`, `compare` and `eval` use to show a cost: one meaning, one implementation.
A budget is a hard limit (docs/savings.md#budgets): every call is checked before it
is made, from the prompt it will send and what this run's replies have cost so far.
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
    """Input and output tokens of every call that reported them."""
    return sum((row.get("input") or 0) + (row.get("output") or 0) for row in per_model.values())


Estimated = Mapping[str, tuple[float, float]]
"""model id -> (input, output) tokens of its calls that reported no usage, counted
at their estimate (`Sent.unreported`): what a budget adds to the reported tokens."""


def budget_tokens_spent(per_model: PerModel, estimated: Estimated | None = None) -> float:
    """What a token budget counts as spent: the reported tokens, and the estimate of
    every call that reported none (never 0)."""
    return tokens(per_model) + sum(tokens_in + tokens_out for tokens_in, tokens_out in (estimated or {}).values())


def budget_usd_spent(per_model: PerModel, prices: Prices, estimated: Estimated | None = None) -> float | None:
    """What a money budget counts as spent: the run's cost, its calls that reported
    no usage at their estimated tokens; None when a model has no price."""
    total = cost(per_model, prices)
    if total is None:
        return None
    for model_id, (tokens_in, tokens_out) in (estimated or {}).items():
        if per_model.get(model_id, {}).get("cost") is not None:
            continue  # the provider's own figure covers every call of it
        if model_id not in prices:
            return None
        price_in, price_out = prices[model_id]
        total += (tokens_in * price_in + tokens_out * price_out) / PER
    return total


def unpriced(model_ids: Sequence[str], prices: Prices) -> list[str]:
    """The models (each once, in order) a money budget cannot be checked for."""
    return [m for m in dict.fromkeys(model_ids) if m not in prices]


DEFAULT_TOKENS_PER_CHAR = 1 / 3
"""Input tokens per character of a prompt before any reply of the run reported its
count: cautious for English (about 1/4), and learned from the first reply on."""


class Sent:
    """What this run's calls sent and got back, by model: the characters of every
    prompt whose reply reported its input tokens, those tokens, and the longest reply.
    A budget is checked with it before every call (`expected`)."""

    def __init__(self) -> None:
        self.chars: dict[str, int] = {}
        self.input: dict[str, int] = {}
        self.longest: dict[str, int] = {}

    def add(self, model_id: str, chars: int, input_tokens: int | None, output_tokens: int | None) -> None:
        if input_tokens is not None and chars > 0:
            self.chars[model_id] = self.chars.get(model_id, 0) + chars
            self.input[model_id] = self.input.get(model_id, 0) + input_tokens
        if output_tokens is not None:
            self.longest[model_id] = max(self.longest.get(model_id, 0), output_tokens)

    def _per_char(self, model_id: str) -> float:
        if self.chars.get(model_id):
            return self.input[model_id] / self.chars[model_id]
        chars = sum(self.chars.values())
        return sum(self.input.values()) / chars if chars else DEFAULT_TOKENS_PER_CHAR

    def expected(self, model_id: str, chars: int) -> tuple[float, float]:
        """(input, output) tokens a call to `model_id` with a prompt of `chars`
        characters is expected to cost: the prompt at this run's tokens per character
        (the model's own, else every model's, else `DEFAULT_TOKENS_PER_CHAR`); the
        reply as long as the model's longest so far, else the run's longest reply,
        else (before any reply) as long as its prompt."""
        tokens_in = chars * self._per_char(model_id)
        if model_id in self.longest:
            return tokens_in, float(self.longest[model_id])
        if self.longest:
            return tokens_in, float(max(self.longest.values()))
        return tokens_in, tokens_in

    def unreported(self, model_id: str, chars: int, reply_chars: int | None) -> tuple[float, float]:
        """(input, output) tokens a call that reported no usage is counted at: its
        prompt at this run's tokens per character, its reply (`reply_chars`, when it
        replied) at the same rate, else as `expected` (a call cut short in flight may
        have written and been billed for a whole reply)."""
        tokens_in, tokens_out = self.expected(model_id, chars)
        if reply_chars is not None:
            tokens_out = reply_chars * self._per_char(model_id)
        return tokens_in, tokens_out


Planned = tuple[str, float, float]  # (model id, expected input tokens, expected output tokens)


def over_budget(
    planned: Sequence[Planned],
    per_model: PerModel,
    prices: Prices,
    budget_tokens: int | None,
    budget_usd: float | None,
    step: str = "the next step",
    estimated: Estimated | None = None,
) -> str | None:
    """Why the planned calls must not be made (what was spent plus what they are
    expected to cost passes a budget, or a model's price is unknown under a money
    budget), or None when they fit. Checked before every call of a run, the first
    included, with the prompts that will be sent. Calls that reported no usage count
    at their estimate (`estimated`), never as nothing."""
    if not planned:
        return None
    step = f"{step} ({plural(len(planned), 'call')})"
    if budget_tokens is not None:
        spent = budget_tokens_spent(per_model, estimated)
        more = sum(tokens_in + tokens_out for _, tokens_in, tokens_out in planned)
        if spent + more > budget_tokens or budget_tokens == 0:
            return (
                f"{step} could pass the token budget of {budget_tokens:,} "
                f"({round(spent):,} spent, about {round(more):,} more expected)"
            )
    if budget_usd is not None:
        missing = unpriced([*per_model, *(estimated or {}), *(m for m, _, _ in planned)], prices)
        missing = [m for m in missing if per_model.get(m, {}).get("cost") is None or m in (p[0] for p in planned)]
        if missing:
            return f"{step} cannot be checked against the budget of ${budget_usd:g}: no price for {', '.join(missing)}"
        spent_usd = budget_usd_spent(per_model, prices, estimated) or 0.0
        more_usd = 0.0
        for model_id, tokens_in, tokens_out in planned:
            price_in, price_out = prices[model_id]
            more_usd += (tokens_in * price_in + tokens_out * price_out) / PER
        if spent_usd + more_usd > budget_usd or (budget_usd == 0 and planned):
            return (
                f"{step} could pass the budget of ${budget_usd:g} "
                f"(${spent_usd:.4f} spent, about ${more_usd:.4f} more expected)"
            )
    return None
