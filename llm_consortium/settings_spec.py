"""Every setting of a consortium, declared once: its name, type, range, default, help,
where it can be set, and `create`'s flag for it.

The typed classes that hold the settings, the YAML schema (`saved/config.py`), the
`-o` options (`adapter/models.py`) and the engine's `Settings` (`types.py`), are
written from this table by cog (`make settings` writes them, `make test` checks them
with `cog --check`), so the type checker sees every setting by name and type, and a
name, a type or a default cannot differ between them. Every range check, in every
place, is this table's one rule (`Setting.fault`), with one message; `create`'s flags
are made from the table at import.

At the bottom of the package and the standard library only: the engine checks its
Settings with it, and `llm` builds the consortium models' Options from it on every
command.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

_WHAT: dict[type, str] = {str: "text", list: "a list", dict: "a mapping"}
"""How `fault` names a value of the wrong type, without quoting it."""

_BOOLEANS = {word: True for word in ("true", "t", "yes", "y", "on", "1")} | {
    word: False for word in ("false", "f", "no", "n", "off", "0")
}
"""The words `-o` takes for true and false (pydantic's, as llm's other options take)."""

# Where a setting can be given.
FILE = "file"  # a key of the consortium's YAML file
OPTION = "option"  # `llm -m NAME -o KEY VALUE`, for one prompt
RUN = "run"  # a field of the engine's Settings

PURE_MATCHING_MODES = ("auto", "exact", "number", "choice")
MODEL_MATCHING_MODES = ("semantic", "judge")


@dataclass(frozen=True)
class Setting:
    """One setting. A number is checked against `minimum`/`maximum` (inclusive) or
    `above` (exclusive); a text against `choices` when it has some."""

    name: str
    kind: type  # bool, int, float or str
    default: Any
    help: str
    places: frozenset[str]
    minimum: float | None = None
    maximum: float | None = None
    above: float | None = None
    choices: tuple[str, ...] = ()
    optional: bool = False  # None is a value: not set (the default then applies elsewhere)
    flag: str | None = None  # `create`'s flag that sets it, named in its errors

    @property
    def range_text(self) -> str:
        """The allowed values in words ("0 to 1", "more than 0"); "" for any."""
        if self.choices:
            return "one of " + ", ".join(self.choices)
        if self.minimum is not None and self.maximum is not None:
            return f"{self.minimum:g} to {self.maximum:g}"
        if self.above is not None:
            return f"more than {self.above:g}"
        if self.minimum is not None:
            return f"{self.minimum:g} or more"
        return ""

    @property
    def described(self) -> str:
        """The help with the range, as `-o` and `create` show it."""
        if self.kind in (int, float) and self.range_text:
            return f"{self.help} ({self.range_text})"
        return self.help

    def fault(self, value: Any) -> str | None:
        """What is wrong with `value` for this setting, without its name ("must be
        0 to 1, not NaN"); None when it is fine. The one rule every place uses: the
        file, `-o`, `create` and the engine. Text is never quoted back (in a file it
        is the file's own)."""
        if value is None:
            return None if self.optional else "must be set"
        if self.kind is bool:
            return None if isinstance(value, bool) else "must be true or false"
        if self.kind is str:
            if not isinstance(value, str):
                return "must be text"
            if self.choices and value not in self.choices:
                return f"must be {self.range_text}"
            return None
        number = "a whole number" if self.kind is int else "a number"
        if isinstance(value, bool):
            return f"must be {number}, not {'true' if value else 'false'}"
        if not isinstance(value, (int, float)):
            return f"must be {number}, not {_WHAT.get(type(value), type(value).__name__)}"
        if math.isnan(value):
            return f"must be {self.range_text or number}, not NaN"
        if math.isinf(value):
            return f"must be a finite number{f' ({self.range_text})' if self.range_text else ''}, not {value}"
        if self.kind is int and not isinstance(value, int):
            return f"must be {number}, got {value!r}"
        low_ok = self.minimum is None or value >= self.minimum
        high_ok = self.maximum is None or value <= self.maximum
        above_ok = self.above is None or value > self.above
        return None if low_ok and high_ok and above_ok else f"must be {self.range_text}, got {value:g}"

    def from_text(self, text: str) -> Any:
        """The value `-o KEY TEXT` gives (llm passes option values as text): a number,
        true/false, or the text itself, which `fault` then judges. Whole numbers are
        read as pydantic reads them (`3`, ` 3 `, `1_000`, `2.0`)."""
        if self.kind is bool:
            return _BOOLEANS.get(text.strip().lower(), text)
        if self.kind not in (int, float):
            return text
        try:
            number = float(text.strip())
        except ValueError:
            return text
        if self.kind is int and number.is_integer():
            return int(number)
        return number

    def problem(self, value: Any) -> str | None:
        """`fault` with the setting's name in front, for a message of its own."""
        fault = self.fault(value)
        return f"{self.name} {fault}" if fault else None


_ALL = frozenset({FILE, OPTION, RUN})
_SAVED = frozenset({FILE, RUN})
_CHOSEN = frozenset({FILE, OPTION})  # used by the llm adapter, not the engine

SETTINGS: tuple[Setting, ...] = (
    Setting("strategy", str, None, "How the answer is chosen: arbiter (with an arbiter, the default) or vote",
            _SAVED, choices=("arbiter", "vote"), optional=True, flag="--strategy"),
    Setting("confidence_threshold", float, 0.7, "Stop once the arbiter is at least this confident",
            _ALL, minimum=0, maximum=1, flag="-t/--threshold"),
    Setting("max_iterations", int, 3, "Most rounds of deliberation", _ALL, minimum=1, maximum=50,
            flag="-i/--iterations"),
    Setting("min_iterations", int, 1, "Fewest rounds, even when confident early (never above max_iterations)",
            _ALL, minimum=1, maximum=50, flag="--min-iterations"),
    Setting("system_prompt", str, None, "System prompt for every member and the arbiter",
            frozenset({FILE}), optional=True, flag="-s/--system"),
    Setting("timeout", float, 120.0, "Seconds each member or arbiter call may take", _ALL, above=0),
    Setting("retries", int, 2, "Retries of a failed member or arbiter call", _SAVED, minimum=0, maximum=10),
    Setting("min_members", int, 1, "Fewest member answers a round needs", _SAVED, minimum=1),
    Setting("call_mode", str, "auto", "How member calls run: auto, thread (sync implementation) or async",
            _CHOSEN, choices=("auto", "thread", "async"), flag="--call-mode"),
    Setting("progress", bool, None,
            "Live status line on stderr when it is a terminal (default on; LLM_CONSORTIUM_PROGRESS=0 turns it off)",
            frozenset({OPTION}), optional=True),
    Setting("skip_arbiter_on_agreement", bool, True,
            "Skip the arbiter when every member gives the same answer (default on)", _ALL, flag="--always-arbiter"),
    Setting("agreement", float, 1.0, "Call the next tier when fewer than this share of answers agree",
            _ALL, minimum=0, maximum=1, flag="--agreement"),
    Setting("waves", bool, False, "Call a vote's members in waves, the rest only if the first did not decide",
            _ALL, flag="--waves"),
    Setting("budget_tokens", int, None, "Most tokens this whole prompt may spend, every call counted",
            _ALL, minimum=0, optional=True, flag="--budget-tokens"),
    Setting("budget_usd", float, None, "Most USD this whole prompt may spend (needs prices: llm consortiums prices)",
            _ALL, minimum=0, optional=True, flag="--budget-usd"),
    Setting("matching", str, "auto", "How votes group answers: auto, exact, number, choice, semantic or judge",
            _CHOSEN, choices=PURE_MATCHING_MODES + MODEL_MATCHING_MODES, flag="--matching"),
    Setting("matching_model", str, None, "Embedding model (semantic) or grouping model (judge)",
            _CHOSEN, optional=True, flag="--matching-model"),
    Setting("matching_tolerance", float, 0.0, "number matching: numbers this close are one answer",
            _CHOSEN, minimum=0, flag="--matching-tolerance"),
    Setting("matching_threshold", float, None, "semantic matching: cosine similarity that makes one answer",
            _CHOSEN, minimum=-1, maximum=1, optional=True, flag="--matching-threshold"),
    Setting("final_answer_line", bool, False,
            "Ask members to end with one line 'Final answer: ...', which the vote and the arbiter skip read",
            _ALL),
    Setting("review", bool, False, "Members rank each other's answers before each round is decided",
            _ALL, flag="--review"),
)

BY_NAME = {setting.name: setting for setting in SETTINGS}
FLAGS = {setting.name: setting.flag for setting in SETTINGS if setting.flag}
"""Which `create` flag sets each setting, so an error about it points at the flag."""


def settings_in(place: str) -> tuple[Setting, ...]:
    """The settings that can be given in `place` (FILE, OPTION or RUN), in table order."""
    return tuple(setting for setting in SETTINGS if place in setting.places)


def defaults(place: str) -> dict[str, Any]:
    """{name: default} for the settings of `place`."""
    return {setting.name: setting.default for setting in settings_in(place)}


def iterations_problem(low: int, high: int) -> str | None:
    """The one rule between two settings: never fewer rounds than `min_iterations`,
    never more than `max_iterations`, so the minimum cannot be above the maximum."""
    if low > high:
        return f"min_iterations ({low}) is greater than max_iterations ({high})"
    return None


def problems(values: dict[str, Any]) -> list[str]:
    """Every problem of a set of setting values, each naming its setting."""
    found = [p for name, value in values.items() if (p := BY_NAME[name].problem(value))]
    low, high = values.get("min_iterations"), values.get("max_iterations")
    if not found and isinstance(low, int) and isinstance(high, int) and (p := iterations_problem(low, high)):
        found.append(p)
    return found


# ------------------------------------------------------------------ the typed classes, written by cog

FORMS = ("model", "option", "dataclass")
"""How a class holds settings: a pydantic model field (`saved/fields.setting_field`),
an `-o` option (None: not given), or a dataclass field with its default."""


def _source(value: Any) -> str:
    """A default or a name as Python source, strings in double quotes."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"' if isinstance(value, str) else repr(value)


def annotation(setting: Setting, *, optional: bool = False) -> str:
    """The setting's type as Python source: `float`, `int | None`, `Literal['a', 'b']`."""
    kind = f"Literal[{', '.join(map(_source, setting.choices))}]" if setting.choices else setting.kind.__name__
    return f"{kind} | None" if setting.optional or optional else kind


def declarations(place: str, form: str, indent: str = "    ") -> str:
    """The class-body lines that declare `place`'s settings in `form` (one of FORMS),
    in table order: what the cog blocks of the classes write."""
    assert form in FORMS, form
    lines = []
    for setting in settings_in(place):
        name = _source(setting.name)
        if form == "model":
            lines.append(f"{setting.name}: {annotation(setting)} = setting_field({name})")
        elif form == "option":
            lines.append(f"{setting.name}: {annotation(setting, optional=True)} = option_field({name})")
        else:
            lines.append(f"{setting.name}: {annotation(setting)} = {_source(setting.default)}")
    return "".join(f"{indent}{line}\n" for line in lines)
