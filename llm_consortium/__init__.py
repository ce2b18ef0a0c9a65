"""llm plugin hooks for llm-consortium.

`llm` imports this module and runs its hooks on every command, so it holds the hooks
and nothing else; the real work lives in submodules imported only when a hook needs
them, and `llm consortiums` itself is imported only when it runs.
"""

import os

import llm

FOLDER_NAME = "consortiums"  # store.folder() is llm.user_dir() / FOLDER_NAME


@llm.hookimpl
def register_models(register):
    # A user with no consortium must not pay for importing the config models.
    try:
        entries = os.listdir(llm.user_dir() / FOLDER_NAME)
    except OSError:
        return
    if not any(entry.endswith(".yaml") for entry in entries):
        return
    from .store import list_names

    names = list_names()
    if names:
        from .models import register_consortiums

        register_consortiums(register, names)


@llm.hookimpl
def register_commands(cli):
    import click

    class LazyConsortiums(click.Group):
        """Stands in for the `llm consortiums` group until that command runs.

        The real group imports the engine, the arbiter and the trace renderers,
        which every other `llm` command would otherwise pay for at startup.
        """

        def _real(self) -> click.Group:
            from .cli import consortiums

            return consortiums

        def make_context(self, info_name, args, parent=None, **extra):
            return self._real().make_context(info_name, args, parent=parent, **extra)

        def list_commands(self, ctx):
            return self._real().list_commands(ctx)

        def get_command(self, ctx, cmd_name):
            return self._real().get_command(ctx, cmd_name)

    cli.add_command(
        LazyConsortiums("consortiums", help="Manage saved consortiums (each one is also an llm model)")
    )
