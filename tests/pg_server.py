"""A throw-away PostgreSQL server on 127.0.0.1 for the test session (Debian's server binaries).

    pytest_plugins = ["pg_server"]       # in a test module; then use the fixture `postgres_url`

`initdb` into a temporary folder, `pg_ctl start` on a free loopback port with its socket in that folder,
one database created, a SQLAlchemy URL handed out, and at the end the server stopped and the folder removed.
PostgreSQL refuses to run as root: as root, the server runs as the `postgres` user (created by Debian's
`postgresql` package, which `make system-deps` installs), or `nobody` where there is none.
"""
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

SERVER_USERS = ("postgres", "nobody")   # who runs the server when the tests run as root: the first found
SUPERUSER = "grader"         # the database role the tests connect as (trust authentication, loopback only)
DATABASE = "gradebook"


def server_binaries():
    """The folder of initdb/pg_ctl: $PG_BIN, else the newest /usr/lib/postgresql/<version>/bin."""
    if os.environ.get("PG_BIN"):
        return Path(os.environ["PG_BIN"])
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    return Path(found[-1]).parent if found else None


def _first_account(names):
    for name in names:
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise RuntimeError(f"none of the users {', '.join(names)} exists to run the PostgreSQL server")


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PostgresServer:
    def __init__(self, binaries):
        self.binaries = Path(binaries)
        self.folder = Path(tempfile.mkdtemp(prefix="pg-test-"))
        self.data = self.folder / "data"
        self.port = free_port()
        self.as_user = []
        if os.geteuid() == 0:
            account = _first_account(SERVER_USERS)
            os.chown(self.folder, account.pw_uid, account.pw_gid)
            self.as_user = ["setpriv", f"--reuid={account.pw_uid}", f"--regid={account.pw_gid}",
                            "--init-groups", "--"]

    def _run(self, tool, *args):
        command = [*self.as_user, str(self.binaries / tool), *args]
        done = subprocess.run(command, cwd=self.folder, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"{tool} failed ({done.returncode}): {done.stdout}{done.stderr}")
        return done.stdout

    def start(self):
        self._run("initdb", "-D", str(self.data), "-U", SUPERUSER, "--auth=trust", "-E", "UTF8",
                  "--no-sync", "--no-instructions")
        options = f"-k {self.folder} -h 127.0.0.1 -p {self.port} -c fsync=off -c max_connections=200"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.folder / "server.log"), "-w", "-t", "60",
                  "-o", options, "start")
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", SUPERUSER, DATABASE)
        return self.url(DATABASE)

    def url(self, database):
        return f"postgresql+psycopg2://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name):
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", SUPERUSER, name)
        return self.url(name)

    def stop(self):
        try:
            if (self.data / "postmaster.pid").exists():
                self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server():
    """A running PostgreSQL server (PostgresServer) with the database `gradebook`; stopped at the end."""
    binaries = server_binaries()
    if binaries is None:
        pytest.fail("PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin: "
                    "run `make system-deps` (installs Debian's postgresql).", pytrace=False)
    server = PostgresServer(binaries)
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def postgres_url(postgres_server):
    """SQLAlchemy URL of the database `gradebook` on the test server."""
    return postgres_server.url(DATABASE)
