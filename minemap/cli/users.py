"""Admin commands: ``minemap users add/list/disable/enable`` and ``minemap audit``.

These run with the rights of whoever can open the store file (the machine's admin);
they are the way to create the first account. ``minemap audit`` only reads: there is
no command, option or API that changes or deletes audit entries.
"""

from __future__ import annotations

import csv
import getpass
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from minemap._errors import MinemapError
from minemap.cli._app import app

__all__ = ["audit", "users_app"]

_out = Console(highlight=False, soft_wrap=True)
_err = Console(stderr=True, highlight=False, soft_wrap=True)

users_app = typer.Typer(
    help="Local accounts (admins): add, list, disable, enable, passwd, role.",
    no_args_is_help=True,
)
app.add_typer(users_app, name="users")

StoreOption = Annotated[
    str | None,
    typer.Option("--store", help="Store file (default: $MINEMAP_STORE, else ./minemap.gpkg)."),
]


def _fail(message: str, code: int = 1) -> typer.Exit:
    _err.print(f"[bold red]error:[/] {message}", markup=True, highlight=False)
    return typer.Exit(code)


def _operator() -> str:
    """Who runs the command, for the audit log (``cli:<OS user>``)."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def _open(store: str | None, *, create: bool):
    from minemap.store import open_store

    return open_store(store, create=create)


def _read_password(*, from_stdin: bool) -> str:
    if from_stdin:
        text = sys.stdin.readline()
        if not text:
            raise _fail("--password-stdin: nothing on standard input")
        return text.rstrip("\r\n")
    if not sys.stdin.isatty():
        # getpass would fall back to reading (and maybe echoing) a pipe: refuse instead.
        raise _fail("no terminal to ask for the password on; pipe it in with --password-stdin")
    return typer.prompt("Password", hide_input=True, confirmation_prompt=True)


@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="Account name (letters, digits, . _ @ + -).")],
    role: Annotated[str, typer.Option("--role", help="planner, field, funder or admin.")],
    store: StoreOption = None,
    password_stdin: Annotated[
        bool,
        typer.Option(
            "--password-stdin", help="Read the password from the first line of standard input."
        ),
    ] = False,
) -> None:
    """Add an account; prompts for the password twice (or reads it from stdin)."""
    from minemap.auth.accounts import add_user
    from minemap.auth.passwords import password_problems
    from minemap.auth.roles import ROLES

    if role not in ROLES:
        raise typer.BadParameter(
            f"{role!r} is not a role; choose one of {', '.join(ROLES)}", param_hint="--role"
        )
    password = _read_password(from_stdin=password_stdin)
    problems = password_problems(password, name=name)
    if problems:
        raise _fail("; ".join(problems))
    try:
        with _open(store, create=True) as opened:
            account = add_user(opened, name, role=role, password=password, by=_operator())
    except MinemapError as exc:
        raise _fail(str(exc)) from None
    _out.print(f"added account {account.name} ({account.role})")


@users_app.command("list")
def users_list(
    store: StoreOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON array.")] = False,
) -> None:
    """List the accounts with their roles (no passwords or hashes, ever)."""
    from minemap.auth.accounts import list_accounts

    try:
        with _open(store, create=False) as opened:
            accounts = list_accounts(opened)
    except MinemapError as exc:
        raise _fail(str(exc)) from None
    rows = [
        {
            "name": a.name,
            "role": a.role,
            "disabled": a.disabled,
            "created_at": a.created_at.isoformat(),
            "created_by": a.created_by,
        }
        for a in accounts
    ]
    if as_json:
        _out.print_json(json.dumps(rows))
        return
    if not rows:
        _out.print("no accounts yet: `minemap users add NAME --role admin` creates one")
        return
    table = Table("name", "role", "status", "created (UTC)", "by")
    for row in rows:
        table.add_row(
            row["name"],
            row["role"],
            "disabled" if row["disabled"] else "active",
            row["created_at"][:16].replace("T", " "),
            row["created_by"] or "",
        )
    _out.print(table)


def _change(name: str, store: str | None, *, disable: bool) -> None:
    from minemap.auth.accounts import disable_user, enable_user

    change = disable_user if disable else enable_user
    try:
        with _open(store, create=False) as opened:
            account = change(opened, name, by=_operator())
    except MinemapError as exc:
        raise _fail(str(exc)) from None
    state = "disabled (its sessions ended)" if account.disabled else "enabled"
    _out.print(f"account {account.name} {state}")


@users_app.command("disable")
def users_disable(
    name: Annotated[str, typer.Argument(help="Account name.")], store: StoreOption = None
) -> None:
    """Disable an account: it can no longer sign in, and its sessions end now."""
    _change(name, store, disable=True)


@users_app.command("enable")
def users_enable(
    name: Annotated[str, typer.Argument(help="Account name.")], store: StoreOption = None
) -> None:
    """Enable a disabled account again."""
    _change(name, store, disable=False)


@users_app.command("passwd")
def users_passwd(
    name: Annotated[str, typer.Argument(help="Account name.")],
    store: StoreOption = None,
    password_stdin: Annotated[
        bool,
        typer.Option(
            "--password-stdin", help="Read the password from the first line of standard input."
        ),
    ] = False,
) -> None:
    """Set a new password for an account; its open sessions end."""
    from minemap.auth.accounts import set_password

    password = _read_password(from_stdin=password_stdin)
    try:
        with _open(store, create=False) as opened:
            account = set_password(opened, name, password, by=_operator())
    except MinemapError as exc:
        raise _fail(str(exc)) from None
    _out.print(f"new password set for {account.name}; its sessions ended")


@users_app.command("role")
def users_role(
    name: Annotated[str, typer.Argument(help="Account name.")],
    role: Annotated[str, typer.Argument(help="planner, field, funder or admin.")],
    store: StoreOption = None,
) -> None:
    """Change an account's role (applies to its open sessions at once)."""
    from minemap.auth.accounts import set_role

    try:
        with _open(store, create=False) as opened:
            account = set_role(opened, name, role, by=_operator())
    except MinemapError as exc:
        raise _fail(str(exc)) from None
    _out.print(f"account {account.name} now has the {account.role} role")


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _csv_cell(value: Any) -> str:
    """A CSV cell that spreadsheets will not run as a formula (file names come from
    uploads, so an entry may start with ``=``)."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


@app.command("audit")
def audit(
    store: StoreOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON array.")] = False,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the log to this CSV file.")
    ] = None,
) -> None:
    """Show or export the append-only audit log (read-only: nothing is changed)."""
    try:
        with _open(store, create=False) as opened:
            log = opened.audit_log()
    except MinemapError as exc:
        raise _fail(str(exc)) from None
    rows = [
        {
            "id": int(row.id),
            "at": row.at.isoformat(),
            "user": None if pd.isna(row.user) else str(row.user),
            "action": row.action,
            "detail": row.detail,
        }
        for row in log.itertuples(index=False)
    ]
    if out is not None:
        if out.suffix.lower() != ".csv":
            raise _fail(f"--out {out}: the audit export is a .csv file")
        try:
            with open(out, "w", newline="", encoding="utf-8") as fh:
                writer = csv.writer(fh)
                writer.writerow(["id", "at", "user", "action", "detail"])
                for row in rows:
                    detail = json.dumps(row["detail"], ensure_ascii=False, sort_keys=True)
                    writer.writerow(
                        [
                            row["id"],
                            row["at"],
                            _csv_cell(row["user"]),
                            _csv_cell(row["action"]),
                            _csv_cell(detail),
                        ]
                    )
        except OSError as exc:
            raise _fail(f"cannot write {out}: {exc.strerror}") from None
        _err.print(f"wrote {len(rows)} audit entries to {out}")
        return
    if as_json:
        _out.print_json(json.dumps(rows, ensure_ascii=False, default=str))
        return
    table = Table("id", "at (UTC)", "user", "action", "detail")
    for row in rows:
        table.add_row(
            str(row["id"]),
            row["at"][:19].replace("T", " "),
            row["user"] or "",
            row["action"],
            json.dumps(row["detail"], ensure_ascii=False, sort_keys=True),
        )
    _out.print(table)
