"""llm plugin hooks for llm-consortium.

`llm` imports this module on every command, so it holds the hooks and nothing else;
the real work lives in submodules imported only when a hook needs them.
"""

import llm


@llm.hookimpl
def register_models(register):
    from .store import list_names

    names = list_names()
    if names:
        from .models import register_consortiums

        register_consortiums(register, names)


@llm.hookimpl
def register_commands(cli):
    from .cli import consortiums

    cli.add_command(consortiums)
