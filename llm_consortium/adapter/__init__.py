"""The `llm` adapter: installed models become engine participants, and a saved
consortium becomes an `llm` model (sync and async), with its status line."""
