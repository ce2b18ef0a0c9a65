"""Looking back: consortium runs read from llm's logs database, and the one place that
touches llm's non-public API."""
