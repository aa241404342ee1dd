"""A throwaway PostgreSQL + PostGIS cluster for the store tests.

``initdb`` into a fresh temporary directory, ``pg_ctl start`` on a free localhost
port (unix socket inside that directory), a database with PostGIS, and one new
schema (a fresh store) per test. Never a server that happens to be running. As root the
server runs as the unprivileged ``postgres`` (or ``nobody``) user via ``runuser``.
"""

from __future__ import annotations

import contextlib
import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

__all__ = ["BACKENDS", "PgCluster", "find_pg_bin", "missing_reason", "pg_cluster", "pg_url"]

BACKENDS = [
    pytest.param("gpkg", id="gpkg"),
    pytest.param("postgis", id="postgis", marks=pytest.mark.xdist_group("postgis")),
]
"""Store backends to parametrise a fixture over (PostGIS tests share one xdist worker)."""

DATABASE = "minemap_tests"


def find_pg_bin() -> Path | None:
    """The directory with ``initdb``/``pg_ctl``/``postgres``, or None."""
    candidates = []
    if os.environ.get("MINEMAP_PG_BIN"):
        candidates.append(os.environ["MINEMAP_PG_BIN"])
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(str(Path(on_path).resolve().parent))
    candidates += sorted(
        glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name), reverse=True
    )
    for directory in candidates:
        if all((Path(directory) / tool).exists() for tool in ("initdb", "pg_ctl", "postgres")):
            return Path(directory)
    return None


def _postgis_installed(bindir: Path) -> bool:
    try:
        share = subprocess.run(
            [bindir / "pg_config", "--sharedir"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        share = str(Path("/usr/share/postgresql") / bindir.parent.name)
    return (Path(share) / "extension" / "postgis.control").exists()


def missing_reason() -> str | None:
    """Why a throwaway PostGIS cluster cannot run here, or None when it can."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is not installed (pip install 'psycopg[binary]>=3.1')"
    bindir = find_pg_bin()
    if bindir is None:
        return "PostgreSQL server binaries (initdb, pg_ctl) not found; apt-get install postgresql"
    if not _postgis_installed(bindir):
        return f"PostGIS is not installed for {bindir}; apt-get install postgresql-15-postgis-3"
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PgCluster:
    """A private PostgreSQL cluster in a temporary directory; :meth:`stop` removes it."""

    def __init__(self) -> None:
        self.bindir = find_pg_bin()
        if self.bindir is None:  # pragma: no cover - callers check missing_reason()
            raise RuntimeError(missing_reason())
        self.dir = Path(tempfile.mkdtemp(prefix="minemap-pg-"))
        self.data = self.dir / "data"
        self.port = _free_port()
        self._runas: list[str] = []
        if os.geteuid() == 0:
            user = "postgres"
            try:
                pwd.getpwnam(user)
            except KeyError:
                user = "nobody"
            os.chown(self.dir, pwd.getpwnam(user).pw_uid, pwd.getpwnam(user).pw_gid)
            self._runas = ["runuser", "-u", user, "--"]
        self._names = itertools.count(1)
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-A",
            "trust",
            "-U",
            "minemap",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        )
        options = (
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c full_page_writes=off -c max_connections=60 -c shared_buffers=32MB"
        )
        try:
            self._run(
                "pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.dir / "log"), "-w",
                "-t", "60", "start",
            )  # fmt: skip
            self.admin(f"CREATE DATABASE {DATABASE}")
            self.admin("CREATE EXTENSION postgis", dbname=DATABASE)
        except BaseException:
            self.stop()
            raise

    def _run(self, tool: str, *args: str) -> None:
        assert self.bindir is not None
        done = subprocess.run(
            [*self._runas, str(self.bindir / tool), *args],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            log = self.dir / "log"
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise RuntimeError(f"{tool} failed: {done.stderr or done.stdout}\n{tail}")

    def url(self, dbname: str, *, schema: str | None = None) -> str:
        """The connection URL of database ``dbname`` (store in ``schema``, if given)."""
        url = f"postgresql://minemap@127.0.0.1:{self.port}/{dbname}"
        if schema is not None:
            url += f"?options=-csearch_path%3D{schema}%2Cpublic"
        return url

    def admin(self, sql: str, *, dbname: str = "postgres") -> None:
        """Run one statement with autocommit (CREATE DATABASE, ...)."""
        import psycopg

        with psycopg.connect(self.url(dbname), autocommit=True) as con:
            con.execute(sql)

    def new_store_url(self) -> str:
        """The URL of a new, empty store: its own schema in the PostGIS test database.

        A schema per test is instant; a database per test (copied from a template
        with PostGIS) takes most of a second each. The store lives in the first
        schema of ``search_path``; PostGIS stays in ``public``.
        """
        name = f"store_{next(self._names)}"
        self.admin(f"CREATE SCHEMA {name}", dbname=DATABASE)
        return self.url(DATABASE, schema=name)

    def stop(self) -> None:
        """Stop the server (fast shutdown) and delete the cluster directory."""
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(RuntimeError):
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    """One throwaway PostgreSQL + PostGIS cluster for the session (per xdist worker).

    Skipped with the reason when PostgreSQL, PostGIS or psycopg are missing here;
    a failure instead in CI (``CI=true``), where ``.ci/run`` installs them.
    """
    reason = missing_reason()
    if reason is not None:
        message = f"PostGIS store tests need a local PostgreSQL + PostGIS: {reason}"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message)
        pytest.skip(message)
    cluster = PgCluster()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def pg_url(pg_cluster: PgCluster) -> str:
    """The URL of a new, empty PostGIS store location (a fresh schema)."""
    return pg_cluster.new_store_url()
