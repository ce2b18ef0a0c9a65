"""`llm consortiums eval`: scoring a consortium, its members alone and a same-budget
baseline on a dataset of prompts with expected answers.

One module per job, lowest first: dataset (reading items), scorers (is an answer
right?), stats (intervals, percentiles, calibration), results (the SQLite store that
makes an eval resumable), runner (calling the systems through the engine), report
(figures and the verdict), table and html (showing them).
"""
