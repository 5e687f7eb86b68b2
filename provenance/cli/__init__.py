"""The ``provenance`` command: the composition root of the stages.

Each subcommand lives in its own module and is imported only when it runs, so
``provenance --help`` stays instant; heavy libraries are imported inside the commands.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys

import click

from provenance.errors import ProvenanceError
from provenance.version import DISTRIBUTION
from provenance.workspace import ENV_VAR, Workspace

# name -> (module, attribute). Listed here so --help can show every command.
COMMANDS: dict[str, tuple[str, str]] = {
    "crawl": ("provenance.cli.crawl_cmd", "crawl"),
    "import": ("provenance.cli.import_cmd", "import_"),
    "transcribe": ("provenance.cli.transcribe_cmd", "transcribe"),
    "dedup": ("provenance.cli.dedup_cmd", "dedup"),
    "sql": ("provenance.cli.sql_cmd", "sql"),
    "audit": ("provenance.cli.audit_cmd", "audit"),
    "export": ("provenance.cli.export_cmd", "export"),
    "revoke": ("provenance.cli.revoke_cmd", "revoke"),
    "relicense": ("provenance.cli.relicense_cmd", "relicense"),
    "check": ("provenance.cli.check_cmd", "check"),
    "verify": ("provenance.cli.verify_cmd", "verify"),
    "migrate": ("provenance.cli.migrate_cmd", "migrate"),
    "demo": ("provenance.cli.demo_cmd", "demo"),
}


# Commands that do work take --json (provenance/cli/jsonout.py); check and verify have their own.
WORK_COMMANDS = frozenset({"crawl", "import", "transcribe", "dedup", "audit", "export", "revoke", "relicense",
                           "demo"})


def available_commands() -> dict[str, tuple[str, str]]:
    """The commands whose modules exist in this installation."""
    found = {}
    for name, (module, attr) in COMMANDS.items():
        if importlib.util.find_spec(module) is not None:
            found[name] = (module, attr)
    return found


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(available_commands())

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = available_commands().get(cmd_name)
        if target is None:
            return None
        module = importlib.import_module(target[0])
        command = getattr(module, target[1])
        if cmd_name in WORK_COMMANDS:
            from provenance.cli.jsonout import with_json_option

            command = with_json_option(command)
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("-w", "--workspace", "workspace", type=click.Path(file_okay=False), default=None,
              help=f"Workspace directory (default: ${ENV_VAR} or ./workspace).")
@click.version_option(package_name=DISTRIBUTION, prog_name="provenance")
@click.pass_context
def cli(ctx: click.Context, workspace: str | None) -> None:
    """Build AI training corpora with proof of source, license and consent for every document.

    Every command works on one workspace: ledger.duckdb (all facts), shards/ (all text),
    runs/, reports/ and exports/.
    """
    ctx.obj = Workspace.resolve(workspace)


def main(argv: list[str] | None = None) -> None:
    """Console entry point: user errors become one message on stderr and exit status 1."""
    try:
        code = cli.main(args=argv, prog_name="provenance", standalone_mode=False)
        if isinstance(code, int) and code:  # a command's ctx.exit(N) / Exit(N) is returned here
            sys.exit(code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except ProvenanceError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        click.echo("Interrupted; work already committed to the ledger is kept.", err=True)
        sys.exit(130)
