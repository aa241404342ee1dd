"""``minemap users`` and ``minemap audit`` in real subprocesses on a real store."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from minemap.auth import AuthError, sign_in
from minemap.store import open_store
from tests.store.helpers import snapshot

REPO = Path(__file__).resolve().parents[2]
PASSWORD = "Mykolaiv-orchard-7-long"


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO), COLUMNS="200")
    return subprocess.run(
        [sys.executable, "-m", "minemap", *args],
        cwd=REPO, env=env, input=stdin, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


@pytest.fixture(scope="module")
def cli_store(tmp_path_factory) -> Path:
    """A store with one account added through the CLI (password from stdin)."""
    path = tmp_path_factory.mktemp("cli") / "store.gpkg"
    done = run("users", "add", "Olena", "--role", "planner", "--store", str(path),
               "--password-stdin", stdin=PASSWORD + "\n")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "added account olena (planner)" in done.stdout
    assert PASSWORD not in done.stdout + done.stderr
    return path


def test_users_add_from_stdin_then_sign_in(cli_store):
    with open_store(cli_store) as store:
        session = sign_in(store, "olena", PASSWORD)
        assert session.role == "planner"
    data = cli_store.read_bytes()
    assert PASSWORD.encode() not in data
    assert b"$argon2id$v=19$m=65536,t=3,p=4$" in data


def test_users_add_refusals(cli_store):
    short = run("users", "add", "taras", "--role", "field", "--store", str(cli_store),
                "--password-stdin", stdin="tooshort\n")  # fmt: skip
    assert short.returncode == 1
    assert "at least 12 characters" in short.stderr
    assert "tooshort" not in short.stderr + short.stdout
    role = run("users", "add", "taras", "--role", "owner", "--store", str(cli_store),
               "--password-stdin", stdin=PASSWORD + "\n")  # fmt: skip
    assert role.returncode == 2
    assert "'owner' is not a role" in role.stderr
    dup = run("users", "add", "OLENA", "--role", "field", "--store", str(cli_store),
              "--password-stdin", stdin=PASSWORD + "\n")  # fmt: skip
    assert dup.returncode == 1
    assert "exists already" in dup.stderr
    assert "Traceback" not in short.stderr + role.stderr + dup.stderr


def test_no_terminal_and_no_password_stdin_is_refused(tmp_path):
    path = tmp_path / "s.gpkg"
    done = run("users", "add", "pat", "--role", "field", "--store", str(path),
               stdin=PASSWORD + "\n" + PASSWORD + "\n")  # fmt: skip
    assert done.returncode == 1
    assert "--password-stdin" in done.stderr
    assert PASSWORD not in done.stdout + done.stderr
    assert not path.exists()


def test_list_disable_and_the_audit_export(cli_store, tmp_path):
    add = run("users", "add", "funder1", "--role", "funder", "--store", str(cli_store),
              "--password-stdin", stdin=PASSWORD + "\n")  # fmt: skip
    assert add.returncode == 0, add.stderr
    listed = run("users", "list", "--store", str(cli_store), "--json")
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert [(r["name"], r["role"], r["disabled"]) for r in rows] == [
        ("funder1", "funder", False),
        ("olena", "planner", False),
    ]
    assert "argon2" not in listed.stdout
    off = run("users", "disable", "funder1", "--store", str(cli_store))
    assert off.returncode == 0, off.stderr
    with open_store(cli_store) as store, pytest.raises(AuthError, match="disabled"):
        sign_in(store, "funder1", PASSWORD)
    missing = run("users", "disable", "nobody", "--store", str(cli_store))
    assert missing.returncode == 1
    assert "no account 'nobody'" in missing.stderr

    shown = run("audit", "--store", str(cli_store), "--json")
    assert shown.returncode == 0, shown.stderr
    entries = json.loads(shown.stdout)
    actions = [e["action"] for e in entries]
    assert actions[:2] == ["store_created", "user_added"]
    assert "user_changed" in actions
    assert "sign_in_refused" in actions
    out = tmp_path / "audit.csv"
    exported = run("audit", "--store", str(cli_store), "--out", str(out))
    assert exported.returncode == 0, exported.stderr
    with open(out, newline="", encoding="utf-8") as fh:
        table = list(csv.DictReader(fh))
    assert [int(r["id"]) for r in table] == [e["id"] for e in entries]
    assert [json.loads(r["detail"]) for r in table] == [e["detail"] for e in entries]
    everything = out.read_text(encoding="utf-8") + shown.stdout
    assert PASSWORD not in everything


def test_passwd_and_role(tmp_path):
    path = tmp_path / "s.gpkg"
    new = "Zaporizhzhia-wheat-2026"
    assert run("users", "add", "pat", "--role", "field", "--store", str(path),
               "--password-stdin", stdin=PASSWORD + "\n").returncode == 0  # fmt: skip
    changed = run("users", "passwd", "pat", "--store", str(path), "--password-stdin",
                  stdin=new + "\n")  # fmt: skip
    assert changed.returncode == 0, changed.stderr
    promoted = run("users", "role", "pat", "planner", "--store", str(path))
    assert promoted.returncode == 0, promoted.stderr
    assert "now has the planner role" in promoted.stdout
    with open_store(path) as store:
        with pytest.raises(AuthError):
            sign_in(store, "pat", PASSWORD)
        assert sign_in(store, "pat", new).role == "planner"
    data = path.read_bytes()
    assert new.encode() not in data
    assert PASSWORD.encode() not in data


def test_audit_is_read_only(cli_store, tmp_path):
    before = snapshot(cli_store)
    for args in (
        ("audit", "--store", str(cli_store)),
        ("audit", "--store", str(cli_store), "--json"),
        ("audit", "--store", str(cli_store), "--out", str(tmp_path / "a.csv")),
    ):
        done = run(*args)
        assert done.returncode == 0, done.stderr
    # there is no command or option to change or delete entries
    for args in (
        ("audit", "delete", "1", "--store", str(cli_store)),
        ("audit", "--store", str(cli_store), "--clear"),
        ("audit", "edit", "--store", str(cli_store)),
        ("users", "delete", "olena", "--store", str(cli_store)),
    ):
        refused = run(*args)
        assert refused.returncode == 2, (args, refused.stdout, refused.stderr)
    assert snapshot(cli_store) == before
    help_text = run("audit", "--help").stdout + run("users", "--help").stdout
    for verb in ("delete", "clear", "edit", "purge", "truncate"):
        assert verb not in help_text.lower()


def test_audit_csv_cells_cannot_run_as_formulas(tmp_path):
    path = tmp_path / "s.gpkg"
    with open_store(path) as store:
        store.record_audit("download", user="=cmd|' /C calc'!A0", detail={"file": "x"})
    out = tmp_path / "a.csv"
    assert run("audit", "--store", str(path), "--out", str(out)).returncode == 0
    with open(out, newline="", encoding="utf-8") as fh:
        users = [row["user"] for row in csv.DictReader(fh)]
    assert users[-1] == "'=cmd|' /C calc'!A0"


def test_commands_on_a_missing_store_fail_cleanly(tmp_path):
    for args in (("users", "list"), ("audit",), ("users", "disable", "x")):
        done = run(*args, "--store", str(tmp_path / "none.gpkg"))
        assert done.returncode == 1
        assert "no minemap store" in done.stderr
        assert "Traceback" not in done.stderr
    assert not (tmp_path / "none.gpkg").exists()
