"""A run's status, decided once from the run's own facts: `complete`, `partial` (a
member it called failed), `stopped` (a budget ended it early), `fallback` (the arbiter
failed and an earlier answer, the review or the vote decided); `failed` belongs to a
run that raised (no answer at all), so it is never decided here.

Every reader (the `-u` usage, the stderr line, the trace, the MCP and tool results)
takes the status from here, so a degraded run cannot be called complete by one of
them and partial by another. Pure: round records and settings in, a value out.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..text.cuts import one_line
from ..text.terminal import inert
from ..text.words import noun_for
from ..trace import FailedMemberRecord, RoundRecord, name_of

# The statuses a finished run can have, worst first: when several facts hold, the
# first one names the run (every fact is still listed in `degraded`).
STATUSES = ("stopped", "fallback", "partial", "complete")
FAILED = "failed"  # a run that raised: no answer

_ERROR_CHARS = 120  # a member's error as shown on one line
_KEPT = {
    "round": "an earlier round's answer was kept",
    "review": "the peer review's top answer was kept",
    "vote": "the members' vote decided",
}


@dataclass
class RunStatus:
    """What a finished run's answer rests on: its status, one line per fact that
    makes it less than complete, and every member call that failed."""

    status: str = "complete"
    degraded: list[str] = field(default_factory=list)
    failed_members: list[FailedMemberRecord] = field(default_factory=list)
    # The facts the engine did not already warn about as they happened (a budget
    # stop, an arbiter's fallback and an untagged verdict each print their own line).
    unannounced: list[str] = field(default_factory=list)
    # Every status whose facts hold, mildest first: `status` is the worst of them.
    causes: list[str] = field(default_factory=list)

    @property
    def warning(self) -> str | None:
        """What the one stderr line of a degraded run says (None: nothing more to say),
        made inert: it quotes the providers' error text. It names every cause (`partial,
        fallback: ...`), so a member's failure is never labelled by the worst alone."""
        if not self.unannounced:
            return None
        return inert(f"{', '.join(self.causes or [self.status])}: {'; '.join(self.unannounced)}")


def decide(
    rounds: list[RoundRecord],
    *,
    stopped: str | None,
    confidence: float | None,
) -> RunStatus:
    """The status of a run that answered, from its round records: a member call with
    an error (failed, timed out or its answer rejected) makes it partial, a round's
    `fallback` a fallback, a budget stop stopped. An answer whose confidence stayed
    unknown (the arbiter stated none) is listed too, without changing the status:
    no threshold judged it."""
    found: dict[str, list[str]] = {kind: [] for kind in STATUSES}
    failed = failed_members(rounds)
    for record in rounds:
        number = record.get("round", 0)
        calls = record.get("members", [])
        errors = [(call, call["error"]) for call in calls if call.get("error")]
        if errors:
            who = ", ".join(f"{name_of(c)}: {one_line(str(e), _ERROR_CHARS)}" for c, e in errors)
            answered = f"{len(calls) - len(errors)} of {len(calls)} members answered"
            found["partial"].append(f"round {number}: {answered} ({who})")
        if "failed" in record:
            found["partial"].append(f"round {number}: {record['failed']}")
        if "fallback" in record:
            error = one_line(str(record.get("arbiter", {}).get("error") or "no usable verdict"), _ERROR_CHARS)
            kept = _KEPT.get(str(record["fallback"].get("kept")), "the members' vote decided")
            found["fallback"].append(f"round {number}: the arbiter failed ({error}); {kept}")
    if stopped:
        found["stopped"].append(stopped)
    unknown: list[str] = []
    if confidence is None and not stopped:
        unknown.append("the arbiter stated no readable confidence, so no threshold judged the answer")
    status = next((kind for kind in STATUSES if found[kind]), "complete")
    degraded = [line for kind in STATUSES for line in found[kind]] + unknown
    short = [f"round {r.get('round', 0)}: {r['failed']}" for r in rounds if "failed" in r]
    causes = [kind for kind in reversed(STATUSES) if found.get(kind)]
    return RunStatus(status, degraded, failed, _by_member(failed) + short, causes)


def failed_members(rounds: list[RoundRecord]) -> list[FailedMemberRecord]:
    """Every member call of these rounds that failed (an error, a timeout, an answer
    rejected), in order: a run that answered lists them, and so does one that failed."""
    return [
        FailedMemberRecord(member=name_of(call), round=record.get("round", 0), error=str(call["error"]))
        for record in rounds
        for call in record.get("members", [])
        if call.get("error")
    ]


def _by_member(failed: list[FailedMemberRecord]) -> list[str]:
    """The failed calls, one phrase per member: `beta failed in rounds 1 and 2 (its
    first error)`, so a member that fails every round is named once."""
    rounds: dict[str, list[int]] = {}
    first: dict[str, str] = {}
    for call in failed:
        rounds.setdefault(call["member"], []).append(call["round"])
        first.setdefault(call["member"], call["error"])
    phrases = []
    for member, numbers in rounds.items():
        listed = [str(n) for n in dict.fromkeys(numbers)]
        numbers_text = listed[0] if len(listed) == 1 else f"{', '.join(listed[:-1])} and {listed[-1]}"
        where = f"{noun_for(len(listed), 'round')} {numbers_text}"
        phrases.append(f"{member} failed in {where} ({one_line(str(first[member]), _ERROR_CHARS)})")
    return phrases
