"""How one participant call runs: its failure policy (timeouts, retries, rate-limit waits),
the per-model gate, blocking calls in threads, and the stdio a member may leave redirected.
Nothing here imports `llm`: the adapter hands these pieces a coroutine to run."""
