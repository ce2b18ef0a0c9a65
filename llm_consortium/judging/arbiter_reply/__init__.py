"""How an arbiter's reply is read: its grammar (tags, reasoning blocks, a confidence),
the Verdict it becomes, the one rule that reads it whole or chunk by chunk, and one
round's arbiter call read as it streams (docs/confidence.md#reading-the-arbiters-reply)."""
