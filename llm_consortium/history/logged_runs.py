"""Consortium runs read back from llm's logs database.

Every consortium turn stores its whole deliberation as response_json, but llm keeps
that column condensed (long strings become references to the turn's messages), so it
is read through llm's own log reader, which resolves it. SQL narrows the turns to
consortium runs first and only the rows actually shown are resolved, which keeps a
large logs.db fast.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import sqlite_utils

from ..errors import RunsError
from ..trace import CallRecord, Trace, read_trace
from .llm_internals import LogStore, logs_db_path, resolved_rows

# A cheap text test narrows the scan before SQLite parses any JSON; the json_type
# test then keeps only turns whose payload has a top-level "consortium" key.
_RUN_IDS_SQL = """
select turns.id from turns
where turns.response_json like '%"consortium"%'
  and json_valid(turns.response_json)
  and json_type(turns.response_json, '$.consortium') = 'text'
  {name_clause}
order by turns.id desc
{limit}
"""


@dataclass
class Run:
    """One consortium turn: llm's row fields, the trace as it was stored, and the trace
    as readers take it (through `read_trace`, so every value has its declared type)."""

    id: str
    datetime_utc: str
    duration_ms: int | None
    input_tokens: int | None
    output_tokens: int | None
    prompt: str
    response: str
    stored: dict[str, Any]
    trace: Trace = field(init=False)

    def __post_init__(self) -> None:
        self.trace = read_trace(self.stored)

    @property
    def consortium(self) -> str:
        return self.trace.get("consortium", "")

    def member_counts(self) -> tuple[int, int, int]:
        """(member instances, answers, failures), answers and failures over all rounds."""
        rounds = self.trace["rounds"]
        total = len(rounds[0]["members"]) if rounds else 0
        answers = failures = 0
        for round_ in rounds:
            for member in round_["members"]:
                if "error" in member:
                    failures += 1
                else:
                    answers += 1
        return total, answers, failures

    def tool_calls(self) -> int:
        """How many tool calls members' models made, over all rounds."""
        return sum(len(m.get("tool_calls", [])) for r in self.trace["rounds"] for m in r["members"])

    def arbiter_failures(self) -> int:
        """How many rounds' arbiter calls failed."""
        return sum(1 for r in self.trace["rounds"] if "error" in r.get("arbiter", {}))

    def _calls(self) -> Iterator[CallRecord]:
        """Every member and arbiter call of the run."""
        for round_ in self.trace["rounds"]:
            yield from round_["members"]
            if "arbiter" in round_:
                yield round_["arbiter"]

    def tokens(self, key: Literal["input", "output"]) -> tuple[int | None, bool]:
        """The run's `key` ("input" or "output") token count, and whether every
        call that got a reply reported it. llm logs the engine's sum, in which a call
        that reported nothing counts 0; so when no call reported a count, it is
        unknown (None), not 0. A failed call has no reply and owes no count."""
        logged = self.input_tokens if key == "input" else self.output_tokens
        known: list[int] = []
        missing = 0
        for call in self._calls():
            count = call.get("usage", {}).get(key)
            if count is not None:
                known.append(count)
            elif "error" not in call:
                missing += 1
        if not known and not missing:  # no call answered, or an old trace: llm's figure
            return logged, logged is not None
        if not known:
            return None, False
        return (logged if logged is not None else sum(known)), missing == 0

    def below_threshold(self) -> bool | None:
        """Whether the final confidence fell short of the threshold the run had to
        reach (an unknown confidence counts as short); None for runs logged before
        the threshold was recorded."""
        threshold = self.trace.get("confidence_threshold")
        if threshold is None:
            return None
        confidence = self.trace.get("confidence")
        return confidence is None or confidence < threshold

    def status(self) -> str:
        """What the answer rests on: complete, partial, stopped, fallback (as the run
        decided it, `engine/status.py`) or failed. A trace logged before runs stored
        their status is judged by the same rule from its rounds."""
        stored = self.trace.get("status")
        if stored:
            return stored
        from ..engine.status import decide

        rounds = self.trace["rounds"]
        return decide(rounds, stopped=self.trace.get("stopped"), confidence=self.trace.get("confidence")).status

    def row(self) -> dict[str, Any]:
        """The one-line view `llm consortiums runs` shows, JSON-ready."""
        total, answers, failures = self.member_counts()
        return {
            "id": self.id,
            "datetime_utc": self.datetime_utc,
            "consortium": self.consortium,
            "status": self.status(),
            "rounds": len(self.trace["rounds"]),
            "final_round": self.trace.get("final_round"),
            "confidence": self.trace.get("confidence"),
            "confidence_threshold": self.trace.get("confidence_threshold"),
            "below_threshold": self.below_threshold(),
            "members": total,
            "member_answers": answers,
            "member_failures": failures,
            "arbiter_failures": self.arbiter_failures(),
            "tool_calls": self.tool_calls(),
            "input_tokens": self.tokens("input")[0],
            "output_tokens": self.tokens("output")[0],
            "duration_ms": self.duration_ms,
        }


def default_database_path() -> Path:
    """Where llm itself keeps its logs (honours LLM_USER_PATH)."""
    return logs_db_path()


def open_logs(path: Path | None = None) -> sqlite_utils.Database:
    """The logs database, never created: reading runs must not leave an empty file."""
    path = Path(path) if path is not None else default_database_path()
    if not path.is_file():
        raise RunsError(f"No logs database at {path} - no consortium run has been logged yet")
    db = sqlite_utils.Database(path)
    try:
        db.execute("select count(*) from sqlite_master").fetchone()
    except sqlite3.DatabaseError as ex:
        raise RunsError(f"{path} cannot be read as a logs database: {ex}") from ex
    return db


@contextlib.contextmanager
def _reading() -> Iterator[None]:
    """A logs database damaged past its header still fails one query in: one error line."""
    try:
        yield
    except sqlite3.DatabaseError as ex:
        raise RunsError(f"The logs database cannot be read: {ex}") from ex


def _run_from_row(row: dict[str, Any]) -> Run | None:
    payload = row.get("response_json")
    trace = json.loads(payload) if isinstance(payload, str) else payload
    if not isinstance(trace, dict) or not isinstance(trace.get("consortium"), str):
        return None
    return Run(
        id=row["id"],
        datetime_utc=row.get("datetime_utc") or "",
        duration_ms=row.get("duration_ms"),
        input_tokens=row.get("input_tokens"),
        output_tokens=row.get("output_tokens"),
        prompt=row.get("prompt") or "",
        response=row.get("response") or "",
        stored=trace,
    )


def _run_ids(db: sqlite_utils.Database, limit: int | None, name: str | None) -> list[str]:
    params: dict[str, Any] = {}
    name_clause = ""
    if name:
        name_clause = "and json_extract(turns.response_json, '$.consortium') = :name"
        params["name"] = name
    limit_clause = ""
    if limit:
        limit_clause = "limit :limit"
        params["limit"] = limit
    sql = _RUN_IDS_SQL.format(name_clause=name_clause, limit=limit_clause)
    return [row["id"] for row in db.query(sql, params)]


def _load(db: sqlite_utils.Database, ids: list[str]) -> list[Run]:
    if not ids:
        return []
    store = LogStore(db)
    runs = (_run_from_row(row) for row in resolved_rows(store, ids))
    return [run for run in runs if run is not None]


def recent_runs(
    db: sqlite_utils.Database, limit: int | None = 20, name: str | None = None
) -> list[Run]:
    """Consortium runs, newest first; `limit` 0 or None means all of them."""
    with _reading():
        LogStore(db)  # brings an older logs.db up to llm's current schema first
        return _load(db, _run_ids(db, limit, name))


def find_run(db: sqlite_utils.Database, response_id: str | None = None) -> Run:
    """The run with this response id, or the latest run when no id is given."""
    with _reading():
        return _find_run(db, response_id)


def _find_run(db: sqlite_utils.Database, response_id: str | None) -> Run:
    LogStore(db)
    if response_id is None:
        ids = _run_ids(db, 1, None)
        if not ids:
            raise RunsError("No consortium runs in the logs yet")
    else:
        ids = [response_id]
    runs = _load(db, ids)
    if not runs:
        exists = db.execute("select 1 from turns where id = ?", [response_id]).fetchone()
        if exists:
            raise RunsError(f"Response {response_id} is not a consortium run")
        raise RunsError(f"No response with id {response_id} in the logs")
    return runs[0]
