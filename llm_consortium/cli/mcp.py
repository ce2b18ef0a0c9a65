"""`llm consortiums mcp`: serve the saved consortiums to agents over MCP (stdio).

The MCP SDK is an optional extra: without it the command says in one line what to
install. Tools named with `-T` are resolved here, before serving, so a bad name is
an `Error:` line rather than a failure inside a client's session.
"""

from __future__ import annotations

import importlib.util
from typing import Any

import click

from . import fail

# The SDK by its own name: the extra asked for by the package's name would fetch PyPI's
# llm-consortium, a different project, and replace this plugin with it.
INSTALL = "llm consortiums mcp needs the MCP SDK 2.x: llm install 'mcp>=2.3,<3'"


def _tools(specs: tuple[str, ...]) -> list[Any]:
    """llm's tools and toolboxes by name, as `llm -T` takes them (`name`, `Box("arg")`)."""
    import llm
    from llm.utils import instantiate_from_spec

    if not specs:
        return []
    available = llm.get_tools()
    classes = {name: value for name, value in available.items() if isinstance(value, type)}
    found = []
    for spec in specs:
        name = spec.split("(", 1)[0].strip()
        if name not in available:
            raise fail(f"Tool {spec} not found. Available tools: {', '.join(available) or 'none'}")
        try:
            found.append(instantiate_from_spec(classes, spec) if name in classes else available[name])
        except Exception as ex:
            raise fail(f"Tool {spec}: {ex}") from ex
    return found


@click.command(name="mcp")
@click.option(
    "tool_specs", "-T", "--tool", multiple=True,
    help="A tool every consult's members may use, when their models support tools (repeat). "
    "They run without asking: no approval prompt is possible",
)
@click.option(
    "--status-tool", is_flag=True,
    help="Also serve server_status: the process's threads, asyncio tasks, memory and job table, "
    "for checking a long-running server",
)
def mcp_command(tool_specs: tuple[str, ...], status_tool: bool) -> None:
    """Serve the saved consortiums to agents over MCP on stdio

    Tools: list_consortiums, consult, consult_result, cancel. Register it with a
    client as the command `llm` with the arguments `consortiums mcp`. Every
    consult is logged like a prompt (see `llm consortiums runs`).
    """
    if importlib.util.find_spec("mcp") is None:
        raise fail(INSTALL)
    tools = _tools(tool_specs)
    try:
        from ..agents.mcp_server import serve
    except ImportError as ex:  # the 1.x line has no mcp.server.MCPServer
        raise fail(f"{INSTALL} ({ex})") from ex
    import anyio

    anyio.run(serve, tools, status_tool)
