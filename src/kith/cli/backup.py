"""``kith backup export|import``: encrypted backups of identity, contacts and settings
(and the finished files with ``--with-files``)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from kith.cli.context import CliContext

__all__ = ["register"]

_ENV_PASSWORD = "KITH_BACKUP_PASSWORD"


def register(commands: Any) -> None:
    """Add the ``backup`` command and its actions."""
    command = commands.add_parser("backup", help="export or restore an encrypted backup")
    actions = command.add_subparsers(dest="action", metavar="ACTION", required=True)

    export = actions.add_parser("export", help="write an encrypted backup to FILE")
    export.add_argument("file", type=Path)
    export.add_argument(
        "--with-files",
        action="store_true",
        help="include the files received and sent (without it, no file is in the backup)",
    )
    _password_option(export)
    export.set_defaults(handler=run_export)

    restore = actions.add_parser("import", help="restore a backup into an empty data directory")
    restore.add_argument("file", type=Path)
    _password_option(restore)
    restore.add_argument(
        "--passphrase",
        action="store_true",
        help="protect the restored database with a passphrase even if an OS key store exists",
    )
    restore.set_defaults(handler=run_import)


def _password_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--password-file",
        type=Path,
        metavar="F",
        help=f"read the backup password from the first line of F "
        f"(default: ${_ENV_PASSWORD} or a prompt)",
    )


def _password(path: Path | None, confirm: bool) -> str:
    from kith.errors import PassphraseError
    from kith.passphrases import EnvOrPrompt

    if path is None:
        return EnvOrPrompt(_ENV_PASSWORD).passphrase("Backup password", confirm=confirm)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise PassphraseError(f"cannot read the password file {path}: {exc}") from None
    if not lines or not lines[0]:
        raise PassphraseError(f"the password file {path} is empty")
    return lines[0]


def run_export(args: argparse.Namespace, ctx: CliContext) -> int:
    """Export identity, contacts and settings (and files with ``--with-files``)."""
    from kith.account import open_store
    from kith.backup import export_backup
    from kith.cli.output import print_line
    from kith.store.file_vault import VAULT_DIR

    store = open_store(ctx.data_dir, ctx.passphrases())
    try:
        files = export_backup(
            store,
            args.file,
            _password(args.password_file, confirm=True),
            vault_dir=ctx.data_dir.path / VAULT_DIR if args.with_files else None,
        )
    finally:
        store.close()
    count = f" ({files} file{'' if files == 1 else 's'})" if args.with_files else ""
    print_line(f"Backup written to {args.file}{count}")
    return 0


def run_import(args: argparse.Namespace, ctx: CliContext) -> int:
    """Restore into an empty data directory."""
    from kith.backup import import_backup
    from kith.cli.init import protection_for
    from kith.errors import TargetNotEmptyError

    if not ctx.data_dir.is_empty():
        raise TargetNotEmptyError(
            f"{ctx.data_dir.path} is not empty: restore into a new or empty data directory"
        )
    restored = import_backup(
        args.file,
        _password(args.password_file, confirm=False),
        ctx.data_dir,
        protection=protection_for(args.passphrase),
        passphrases=ctx.passphrases(),
    )
    import sys

    from kith.cli.output import print_line
    from kith.terminal_text import for_terminal

    info = restored.info
    files = f", {restored.files} file{'' if restored.files == 1 else 's'}" if restored.files else ""
    print_line(
        f"Restored {info.name or 'identity'} ({info.kith_id}){files} into {ctx.data_dir.path}"
    )
    for refused in restored.refused:
        sys.stderr.write(
            for_terminal(f"kith: file {refused.name} ({refused.id}) not restored: {refused.reason}")
            + "\n"
        )
    return 1 if restored.refused else 0
