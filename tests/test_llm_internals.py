"""The private parts of llm this plugin leans on, in one adapter (llm_internals):
these tests fail loudly, naming what changed, when an llm release moves them."""

from __future__ import annotations

import llm
import llm.cli
from llm.parts import TextPart

from llm_consortium.history import llm_internals


def test_the_logs_database_is_where_llm_keeps_it(user_path):
    assert llm_internals.logs_db_path() == llm.cli.logs_db_path(), (
        "llm moved its logs database: update llm_internals.logs_db_path"
    )
    assert llm_internals.logs_db_path().parent == user_path


def test_llms_log_reader_is_still_there():
    from llm import logs

    assert callable(getattr(logs, "log_rows", None)), "llm.logs.log_rows is gone: update llm_internals"
    assert isinstance(getattr(logs, "LogStore", None), type), "llm.logs.LogStore is gone: update llm_internals"


def test_message_text_parts_are_textpart_instances():
    message = llm.user("hello")
    assert [type(part) for part in message.parts] == [TextPart]
    assert message.parts[0].text == "hello"
