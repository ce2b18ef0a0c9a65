"""What a saved consortium is: the pydantic models for its YAML file.

Everything that reads or writes a consortium goes through `ConsortiumConfig`, so a
file that loads here is a file every other part of the plugin can trust.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from ..errors import InvalidName
from ..settings_spec import BY_NAME, iterations_problem
from ..text.terminal import HIDDEN
from ..text.words import plural
from .fields import check_setting, setting_field
from .names import check_name

__all__ = [
    "ArbiterConfig", "ConsortiumConfig", "InvalidName", "MemberConfig", "ToolsConfig", "check_name", "explain",
    "field_names",
]

# `create`'s defaults, shown in its --help.
DEFAULT_CONFIDENCE_THRESHOLD = BY_NAME["confidence_threshold"].default
DEFAULT_MAX_ITERATIONS = BY_NAME["max_iterations"].default
DEFAULT_MIN_ITERATIONS = BY_NAME["min_iterations"].default

MAX_MEMBERS = 100
"""At most this many entries under `models:` (each may ask its model `count` times)."""


def explain(error: ValidationError, hints: Mapping[str, str] | None = None) -> str:
    """Every problem in a pydantic error on one line, as `field.path: message`.

    Users see these messages after a one-line `Error:`; pydantic's own rendering
    spans several lines and names internal model classes. `hints` maps a field
    path to where the user set it (a command-line flag, say), shown beside it.
    """
    problems = []
    for err in error.errors():
        where = ".".join(str(part) for part in err["loc"]) or "config"
        if hints and where in hints:
            where = f"{where} ({hints[where]})"
        problems.append(f"{where}: {err['msg']}")
    return " ".join("; ".join(problems).split())


def _is_integer(annotation: Any) -> bool:
    """Whether a field's annotation (`int`, `int | None`) is an integer's."""
    return annotation is int or any(_is_integer(part) for part in get_args(annotation))


def shown_id(model_id: str) -> str:
    """A model id as a summary line shows it: a hidden character (an escape, a
    control, a bidi override) written as `\\x1b` or `\\u202e`, so an id that only
    looks like an installed model's shows that it is another one."""
    return HIDDEN.sub(_escaped, model_id)


def _escaped(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


class _Strict(BaseModel):
    """Every part of the file: an unknown key is an error, not silently ignored, and
    a number is a number: `count: true` or `count: "3"` is refused rather than read as
    1 or 3, and an integer field takes only integers (`tier: 2.5` or `2.0`); the
    settings of the table are checked by the table's own rule.
    A new section of the file subclasses this, which also lets its keys appear in
    error messages about a file (see `field_names`)."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="before")
    @classmethod
    def _plain_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        if info.field_name in BY_NAME:
            return check_setting(value, info)  # a setting of the table: its own rule
        integer = _is_integer(cls.model_fields[info.field_name or ""].annotation)
        if integer and value is not None and type(value) is not int:
            raise PydanticCustomError("int_type", "Input should be a valid integer")
        return value


def field_names() -> frozenset[str]:
    """Every key the file format defines, at any level: the words an error about a
    file may repeat from it (anything else in a file is the user's own content)."""
    names: set[str] = set()
    pending: list[type[BaseModel]] = [_Strict]
    while pending:
        model = pending.pop()
        names.update(model.model_fields)
        pending.extend(model.__subclasses__())
    return frozenset(names)


class ArbiterConfig(_Strict):
    """The model that reads every member's answer and writes the final one."""

    model_id: str = Field(min_length=1, description="llm model id or alias")
    options: dict[str, Any] = Field(default_factory=dict)
    # Calls in flight to this model at once, in the whole process; None: the
    # default (1 for a model with no async implementation, else unlimited).
    max_concurrent: int | None = Field(default=None, ge=1)
    # The provider limit its calls count against, shared with every model given the
    # same name (`calls/limit_groups.py`); None: its endpoint's, else its own.
    limit_group: str | None = Field(default=None, min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$")
    # The model's context window in tokens, for a plugin that does not state it
    # (or states it wrongly): prompts are made to fit it (judging/fitting.py).
    context_window: int | None = Field(default=None, ge=128)

    @field_validator("options", mode="before")
    @classmethod
    def _none_is_empty(cls, value: Any) -> Any:
        return {} if value is None else value


class MemberConfig(ArbiterConfig):
    """One member model; `count` asks the same model several times."""

    count: int = Field(default=1, ge=1, le=100)
    # Cheap first: a round asks tier 1, and a higher tier only when the lower ones
    # disagree or leave the arbiter unsure (see `agreement`).
    tier: int = Field(default=1, ge=1, le=9)


class ToolsConfig(_Strict):
    """How members use the tools a prompt carries (`llm -T`, `--functions`)."""

    # Most model calls in one member's tool loop (llm's --cl default); 0: no limit.
    chain_limit: int = Field(default=5, ge=0)
    # Identical calls (same tool, same arguments) of one round run once.
    share_identical: bool = True
    # Tools whose every call must run (results that differ per call).
    unshared: list[str] = Field(default_factory=list)
    # The arbiter gets the tools too (by default it sees only the members' evidence).
    arbiter: bool = False


class ConsortiumConfig(_Strict):
    """A saved consortium, as stored in `<llm user dir>/consortiums/NAME.yaml`: its
    members and arbiter, its settings (the table's FILE settings, `settings_spec`,
    written here by cog), and how members use tools."""

    name: str
    models: list[MemberConfig] = Field(min_length=1, max_length=MAX_MEMBERS)
    arbiter: ArbiterConfig | None = None
    # The settings table's FILE settings, written by `make settings` (cog); do not edit.
    # [[[cog
    # from llm_consortium.settings_spec import FILE, declarations
    # cog.out(declarations(FILE, "model"))
    # ]]]
    strategy: Literal["arbiter", "vote"] | None = setting_field("strategy")
    confidence_threshold: float = setting_field("confidence_threshold")
    max_iterations: int = setting_field("max_iterations")
    min_iterations: int = setting_field("min_iterations")
    system_prompt: str | None = setting_field("system_prompt")
    timeout: float = setting_field("timeout")
    retries: int = setting_field("retries")
    min_members: int = setting_field("min_members")
    call_mode: Literal["auto", "thread", "async"] = setting_field("call_mode")
    skip_arbiter_on_agreement: bool = setting_field("skip_arbiter_on_agreement")
    agreement: float = setting_field("agreement")
    waves: bool = setting_field("waves")
    budget_tokens: int | None = setting_field("budget_tokens")
    budget_usd: float | None = setting_field("budget_usd")
    matching: Literal["auto", "exact", "number", "choice", "semantic", "judge"] = setting_field("matching")
    matching_model: str | None = setting_field("matching_model")
    matching_tolerance: float = setting_field("matching_tolerance")
    matching_threshold: float | None = setting_field("matching_threshold")
    final_answer_line: bool = setting_field("final_answer_line")
    review: bool = setting_field("review")
    # [[[end]]]
    # How members use the tools a prompt carries (the file's one nested section).
    tools: ToolsConfig = Field(default_factory=ToolsConfig)

    @field_validator("name")
    @classmethod
    def _valid_name(cls, value: str) -> str:
        return check_name(value)

    @model_validator(mode="after")
    def _consistent(self) -> ConsortiumConfig:
        if problem := iterations_problem(self.min_iterations, self.max_iterations):
            raise ValueError(problem)
        if self.strategy == "arbiter" and self.arbiter is None:
            raise ValueError("strategy 'arbiter' needs an arbiter model")
        if self.matching in ("semantic", "judge") and not self.matching_model:
            raise ValueError(f"matching {self.matching!r} needs a matching_model")
        if self.min_members > self.member_count:
            raise ValueError(
                f"min_members ({self.min_members}) is more than the "
                f"{self.member_count} member calls this consortium makes"
            )
        return self

    @property
    def member_count(self) -> int:
        """How many member calls one round makes (instances included)."""
        return sum(member.count for member in self.models)

    def instances(self) -> list[tuple[MemberConfig, int]]:
        """Each member call of a round as (member, instance number): a model's calls
        are numbered 1, 2, ... across every entry that names it, so `-m a -m a` is
        `a` and `a#2`, as `-m a:2` is."""
        seen: dict[str, int] = {}
        calls = []
        for member in self.models:
            for _ in range(member.count):
                seen[member.model_id] = seen.get(member.model_id, 0) + 1
                calls.append((member, seen[member.model_id]))
        return calls

    @property
    def effective_strategy(self) -> str:
        """`arbiter` when an arbiter is set, `vote` otherwise, unless chosen."""
        if self.strategy:
            return self.strategy
        return "arbiter" if self.arbiter else "vote"

    @property
    def tiers(self) -> list[list[MemberConfig]]:
        """The members by tier, lowest (asked first) first; one list without tiers."""
        numbers = sorted({member.tier for member in self.models})
        return [[m for m in self.models if m.tier == n] for n in numbers]

    def _members_text(self) -> str:
        def names(members: list[MemberConfig]) -> str:
            return ", ".join(shown_id(m.model_id) + (f" x{m.count}" if m.count > 1 else "") for m in members)

        tiers = self.tiers
        if len(tiers) == 1:
            return f"members {names(tiers[0])}"
        shown = " | ".join(f"tier {i}: {names(t)}" for i, t in enumerate(tiers, 1))
        return f"members {shown} (next tier below {self.agreement:g} agreement)"

    def _spending_text(self) -> str:
        parts = []
        if not self.skip_arbiter_on_agreement and self.effective_strategy == "arbiter":
            parts.append("arbiter always")
        if self.waves:
            parts.append("waves")
        if self.budget_tokens is not None:
            parts.append(f"budget {self.budget_tokens:,} tokens")
        if self.budget_usd is not None:
            parts.append(f"budget ${self.budget_usd:g}")
        return "".join(f"; {part}" for part in parts)

    def summary(self) -> str:
        """The one-line summary of this consortium, for `llm models` and
        `llm consortiums list`: who answers, who decides, when it stops."""
        members = self._members_text()
        if self.arbiter and self.effective_strategy == "arbiter":
            decides = f"arbiter {shown_id(self.arbiter.model_id)}"
        else:
            decides = "vote"
        if self.min_iterations == self.max_iterations:
            rounds = plural(self.max_iterations, "iteration")
        else:
            rounds = f"{self.min_iterations}-{self.max_iterations} iterations"
        if self.review:
            decides = f"peer review, {decides}"
        threshold = self.confidence_threshold
        return f"{members}; {decides}; threshold {threshold:g}; {rounds}{self._spending_text()}"

    def to_file_dict(self) -> dict[str, Any]:
        """The mapping written to YAML: the name and the stop rule always, other
        defaults left out so files stay short and readable."""
        data = self.model_dump(mode="json", exclude_defaults=True, exclude={"name"})
        return {
            "name": self.name,
            "models": data.pop("models"),
            **data,
            "confidence_threshold": self.confidence_threshold,
            "max_iterations": self.max_iterations,
            "min_iterations": self.min_iterations,
        }

