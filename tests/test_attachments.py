"""Attachments reach only the members (and arbiter) whose models accept them: scripted
participants with different attachment types, then llm's real CLI with `-a` against
the loopback, where only a vision model may receive the image."""

from __future__ import annotations

import dataclasses
import json
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import llm
import pytest
from click.testing import CliRunner
from llm.cli import cli

from llm_consortium.engine import run
from llm_consortium.errors import ConsortiumFailed
from llm_consortium.types import Call, Settings

from helpers import Scripted, save, verdict
from loopback import reply

IMAGES = frozenset({"image/png", "image/jpeg"})


def tiny_png() -> bytes:
    """A valid 1x1 white PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\xff\xff\xff"))
        + chunk(b"IEND", b"")
    )


def with_types(scripted: Scripted, types: frozenset[str], instance: int = 1):
    return dataclasses.replace(scripted.participant(instance), attachment_types=types)


PNG = llm.Attachment(content=tiny_png())


@pytest.mark.asyncio
async def test_only_capable_members_are_called_and_skips_are_noted(caplog):
    seeing = Scripted("seeing", "a white pixel")
    blind = Scripted("blind", "no idea")
    unknown = Scripted("plugin", "a pixel")  # types unknown: passed through
    result = await run(
        Call("what is this?", attachments=[PNG]),
        [with_types(seeing, IMAGES), with_types(blind, frozenset()), unknown.participant()],
        None,
        Settings(strategy="vote", timeout=5, retries=0),
    )
    assert blind.calls == []
    assert seeing.calls[0].attachments == [PNG] and unknown.calls[0].attachments == [PNG]
    assert [m["model"] for m in result.rounds[0]["members"]] == ["seeing", "plugin"]
    assert result.notes == ["skipped member blind: its model does not accept image/png"]
    assert "skipped member blind" in caplog.text


@pytest.mark.asyncio
async def test_a_member_needs_every_attachment_type():
    pdf = llm.Attachment(type="application/pdf", content=b"%PDF-1.4")
    images_only = Scripted("images", "x")
    both = Scripted("both", "y")
    await run(
        Call("q", attachments=[PNG, pdf]),
        [with_types(images_only, IMAGES), with_types(both, IMAGES | {"application/pdf"})],
        None,
        Settings(strategy="vote", timeout=5, retries=0),
    )
    assert images_only.calls == [] and len(both.calls) == 1


@pytest.mark.asyncio
async def test_no_capable_member_fails_before_any_call():
    blind = Scripted("blind", "x")
    arbiter = Scripted("judge", verdict("x"))
    with pytest.raises(ConsortiumFailed, match="no member's model accepts attachments of type image/png"):
        await run(
            Call("q", attachments=[PNG]),
            [with_types(blind, frozenset())],
            with_types(arbiter, IMAGES),
            Settings(timeout=5, retries=0),
        )
    assert blind.calls == [] and arbiter.calls == []


@pytest.mark.asyncio
async def test_arbiter_gets_attachments_only_when_it_accepts_them():
    member = Scripted("m", "a pixel")
    for arbiter_types, expected in ((IMAGES, [PNG]), (frozenset(), [])):
        arbiter = Scripted("judge", verdict("a pixel"))
        result = await run(
            Call("q", attachments=[PNG]),
            [with_types(member, IMAGES)],
            with_types(arbiter, arbiter_types),
            Settings(timeout=5, retries=0),
        )
        assert arbiter.calls[0].attachments == expected
        assert any("arbiter judge judged without" in n for n in result.notes) == (not expected)


# -------------------------------------------------------------- through llm


def image_parts(request) -> list[dict]:
    content = request.messages[-1]["content"]
    return [p for p in content if p.get("type") == "image_url"] if isinstance(content, list) else []


@pytest.fixture
def png_file(tmp_path: Path) -> Path:
    path = tmp_path / "pixel.png"
    path.write_bytes(tiny_png())
    return path


def test_cli_image_reaches_only_the_vision_member(loopback, openai_models, png_file, user_path):
    openai_models(["alpha", "beta"], alpha={"vision": True})
    save("eyes", ["alpha", "beta"], arbiter=None)
    loopback.script("alpha", reply("A white pixel."))
    done = subprocess.run(
        [str(Path(sys.executable).with_name("llm")), "-m", "eyes", "-a", str(png_file), "what is this?"],
        capture_output=True, text=True, timeout=60,
        env={**os.environ, "LLM_USER_PATH": str(user_path)},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "A white pixel.\n"
    assert done.stderr == "Consortium: skipped member beta: its model does not accept image/png\n"
    assert loopback.requests_for("beta") == []
    parts = image_parts(loopback.requests_for("alpha")[0])
    assert len(parts) == 1 and parts[0]["image_url"]["url"].startswith("data:image/png;base64,")
    logs = json.loads(CliRunner().invoke(cli, ["logs", "--json", "-n", "1"]).stdout)
    assert logs[0]["response_json"]["notes"] == [
        "skipped member beta: its model does not accept image/png"
    ]


def test_cli_vision_arbiter_sees_the_image_too(loopback, openai_models, png_file):
    openai_models(["alpha", "judge"], alpha={"vision": True}, judge={"vision": True})
    save("eyes", ["alpha"], arbiter="judge")
    loopback.script("judge", reply(verdict("A pixel")))
    result = CliRunner().invoke(cli, ["-m", "eyes", "-a", str(png_file), "what is this?"])
    assert result.exit_code == 0, result.output
    assert result.stdout == "A pixel\n"
    assert len(image_parts(loopback.requests_for("judge")[0])) == 1


def test_cli_no_member_takes_the_image_is_one_clear_error(loopback, openai_models, png_file):
    openai_models(["alpha", "beta"])
    save("blind", ["alpha", "beta"], arbiter=None)
    result = CliRunner().invoke(cli, ["-m", "blind", "-a", str(png_file), "what is this?"])
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        "Error: Consortium 'blind' failed: no member's model accepts attachments of type image/png"
    )
    assert loopback.requests == []


class UntypedURL:
    """An attachment known only by its URL: working out its type is blocking I/O
    (llm sends a HEAD request), so it must not run on the event loop."""

    def __init__(self, url: str, answer: str | Exception) -> None:
        self.url, self.answer, self.on_loop = url, answer, None

    def resolve_type(self) -> str:
        import asyncio

        try:
            asyncio.get_running_loop()
            self.on_loop = True
        except RuntimeError:
            self.on_loop = False
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


@pytest.mark.asyncio
async def test_an_attachments_type_is_resolved_off_the_event_loop():
    attachment = UntypedURL("https://example.test/cat", "image/png; charset=binary")
    seeing = Scripted("seeing", "a cat")
    result = await run(
        Call("q", attachments=[attachment]), [with_types(seeing, IMAGES)], None,
        Settings(strategy="vote", timeout=5, retries=0),
    )
    assert attachment.on_loop is False
    assert result.text == "a cat" and seeing.calls[0].attachments == [attachment]


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "answer, says",
    [(ConnectionError("Connection refused"), "Connection refused"), (None, "the server named none")],
)
async def test_an_attachment_whose_type_cannot_be_told_is_a_clear_error(answer, says):
    attachment = UntypedURL("https://example.test/cat", answer)
    member = Scripted("m", "never")
    with pytest.raises(ConsortiumFailed) as info:
        await run(Call("q", attachments=[attachment]), [member.participant()], None, Settings(strategy="vote"))
    assert str(info.value) == f"cannot tell the type of https://example.test/cat: {says}"
    assert member.calls == []
