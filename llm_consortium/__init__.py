"""llm plugin hooks for llm-consortium.

`llm` imports this module and runs its hooks on every command, so it holds the hooks
and nothing else; the real work lives in submodules imported only when a hook needs
them, and each `llm consortiums` subcommand is imported only when it runs.
"""

import os

import llm


@llm.hookimpl
def register_models(register):
    # A user with no consortium must not pay for importing the config models.
    from .saved.names import FOLDER_NAME

    try:
        entries = os.listdir(llm.user_dir() / FOLDER_NAME)
    except OSError:
        return
    if not any(entry.endswith(".yaml") for entry in entries):
        return
    from .saved.store import list_names

    names = list_names()
    if names:
        from .adapter.models import register_consortiums

        register_consortiums(register, names)


@llm.hookimpl
def register_tools(register):
    # llm asks for tools only when a command uses them (`-T`, `llm tools`).
    from .agents.toolbox import Consortium

    register(Consortium)


@llm.hookimpl
def register_commands(cli):
    # cli.py imports only click; each subcommand's module loads when it runs.
    from .cli import consortiums

    cli.add_command(consortiums)
