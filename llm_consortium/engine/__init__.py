"""The deliberation: rounds of member calls, judging or voting, the stop rule and the
trace. It knows nothing of click, files or `llm`. Read it top-down: `deliberation`
(rounds and the stop rule), `steps` (one round as a sequence of steps), then each
step (`fanout`, `peer_review`, `decide`, `savings`), the state they share (`context`)
and the trace records they write (`call_records`)."""

from .deliberation import describe_failures, run

__all__ = ["describe_failures", "run"]
