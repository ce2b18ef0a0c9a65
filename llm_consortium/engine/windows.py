"""What a run knows of its participants' context windows: learned from a call that
overflowed (for every later call to that model, and remembered by the adapter), and
the members' prompts of round 2+ made to fit their windows (`judging.fitting`).

A participant's `window` is one object shared by the participants of its model (the
adapter shares it across runs too), so what one call teaches, every later call knows.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..calls import context_window
from ..judging import fitting
from ..text.cuts import DEFAULT_CAPS
from ..types import Call, ContextWindow, Participant
from .context import RunContext, logger

SHRINK = 0.75
"""A window already known that overflowed without saying its size is taken to be this
share of what was thought."""


def sent_tokens(call: Call) -> int:
    """The estimated tokens a call sends the model: its prompt, system prompt and
    conversation (`calls.context_window.estimate_tokens`)."""
    texts = [call.prompt, call.system or "", *(text for turn in call.history for text in turn)]
    return sum(map(context_window.estimate_tokens, texts))


def learn(ctx: RunContext, round_number: int, participant: Participant, sent: int, error: str | None
          ) -> ContextWindow | None:
    """When `error` says the prompt (`sent` estimated tokens) was too long for the model,
    the window it teaches, now known to every participant of that model in the run
    and kept by the adapter for later runs (a note says so); else None."""
    overflow = context_window.overflow_in(error)
    if overflow is None:
        return None
    tokens, scale, said = context_window.learned(overflow, sent)
    known = participant.window
    if not said and known is not None and known.tokens:
        tokens = min(tokens, int(known.tokens * SHRINK))
    shared = known if known is not None else ContextWindow()
    updated: dict[int, ContextWindow] = {id(shared): shared}
    for other in (*ctx.members, ctx.arbiter):
        if other is not None and other.model_id == participant.model_id:
            if other.window is None:
                other.window = shared
            updated[id(other.window)] = other.window
    for window in updated.values():
        window.tokens, window.source = tokens, "learned"
        window.token_scale = scale or window.token_scale
    if shared.keep is not None:
        try:
            shared.keep(shared)
        except Exception:  # the memory is a convenience: never the run's failure
            logger.debug("keeping the learned window of %s failed", participant.model_id, exc_info=True)
    how = "from its overflow error" if said else "guessed from its overflow error, which gave no size"
    ctx.note(
        round_number,
        f"{participant.name} overflowed: its context window is {tokens:,} tokens ({how}); "
        f"later prompts to {participant.model_id} are made to fit it",
    )
    return shared


class MemberFit:
    """Makes each member's round 2+ prompt fit its window (`prompts.FitFn`), and
    says in the trace which prompts were fitted and how."""

    def __init__(self, members: Sequence[Participant], taken: int) -> None:
        self.members = members
        self.taken = taken  # estimated tokens each call sends besides its prompt
        self.fitted: list[tuple[str, fitting.Fitted]] = []

    def __call__(self, index: int, build: fitting.Build, texts: Sequence[str | None] = ()) -> str:
        member = self.members[index]
        fitted = fitting.fit_prompt(build, texts, fitting.prompt_room(member.window, self.taken))
        if fitted.compact or fitted.caps != DEFAULT_CAPS:
            self.fitted.append((member.name, fitted))
        return fitted.text

    def note(self, ctx: RunContext, round_number: int, what: str) -> None:
        """One note for the round's fitted prompts (`what`: "refinement", "peer")."""
        if not self.fitted:
            return
        names = ", ".join(name for name, _ in self.fitted)
        forms = sorted({fitted.form for _, fitted in self.fitted})
        shares = [fitted.share for _, fitted in self.fitted if fitted.share is not None]
        cut = f"; answers cut to at most {max(shares):,} characters each" if shares else ""
        too_long = [name for name, fitted in self.fitted if not fitted.fits]
        over = f"; still too long for {', '.join(too_long)}" if too_long else ""
        how = f"{' and '.join(forms)} form{cut}{over}"
        ctx.note(round_number, f"the {what} prompts of {names} were made to fit their context windows ({how})")
