"""`llm consortiums eval`: scoring a consortium, its members alone and a same-budget
baseline on a dataset of prompts with expected answers.

One module per job, lowest first: dataset (reading and checking items), scorers (is
an answer right?), stats (intervals, percentiles, calibration), results (the SQLite
store that makes an eval resumable), judging (scoring, with the judge's calls
cached and counted apart), runner (the systems through the engine), report (the
figures and the verdict), then the views: table, html and the progress bar.
"""
