"""`llm consortiums eval`: scoring consortiums, their members alone and same-budget
baselines on a dataset of prompts with expected answers, and comparing them item by item.

One module per job, lowest first: dataset (reading and checking items), scorers (is
an answer right?), stats (Wilson intervals, percentiles, calibration, paired
differences and the exact McNemar test), results (the SQLite store that makes an eval
resumable), records (a stored result from a run's trace), judging (scoring, with the
judge's calls cached and counted apart), runner (the systems through the engine),
comparisons (the paired comparisons and the verdict), report (the figures), then the
views: table, charts and html, and the progress bar.
"""
