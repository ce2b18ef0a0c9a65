"""The deliberation: rounds of member calls, judging or voting, the stop rule and the
trace. It knows nothing of click, files or `llm`; see `rounds` for the sequence of steps."""

from .rounds import describe_failures, run

__all__ = ["describe_failures", "run"]
