"""Two-session replays on a real PostgreSQL, for the hand review of the corpus.

A replay loads a project's own schema into a fresh database, runs the project's own query files
(read from corpus/ or target/corpus/, byte for byte) in several sessions, and prints what each
session saw. A statement that must wait for a row lock runs in a thread; `Session.wait_blocked`
returns once pg_stat_activity shows the session waiting on a lock, so the schedule does not
depend on sleeps.

Server: PGHOST (a socket directory, default /tmp/pgreplay) and PGUSER (default postgres). To
start a throwaway PostgreSQL 15 as root:

    mkdir -p /tmp/pgreplay && chown postgres /tmp/pgreplay
    su postgres -c "/usr/lib/postgresql/15/bin/initdb -D /tmp/pgreplay/data -A trust"
    su postgres -c "/usr/lib/postgresql/15/bin/pg_ctl -D /tmp/pgreplay/data -l /tmp/pgreplay/log \\
        -o \\"-k /tmp/pgreplay -c listen_addresses=''\\" start"

Needs psycopg 3 (pip install 'psycopg[binary]').
"""

import os
import threading
import time
import uuid
from pathlib import Path

import psycopg
import psycopg.types.json

ROOT = Path(__file__).resolve().parents[2]
HOST = os.environ.get("PGHOST", "/tmp/pgreplay")
USER = os.environ.get("PGUSER", "postgres")


def connect(dbname, **kwargs):
    return psycopg.connect(host=HOST, user=USER, dbname=dbname, **kwargs)


def fresh_db(name, schema_files):
    """Creates database NAME anew and runs each schema file in it, as one simple query each."""
    with connect("postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    with connect(name, autocommit=True) as conn:
        for file in schema_files:
            conn.execute(Path(file).read_text())


def sql(path):
    """A query file's text, as the project ships it."""
    return Path(path).read_text()


class Session:
    """One connection. `raw=True` takes PostgreSQL's own $1 placeholders (psycopg.RawCursor)."""

    def __init__(self, dbname, label, raw=False):
        self.label = label
        self.conn = connect(dbname, autocommit=True)
        self.raw = raw
        self.pid = self.conn.info.backend_pid
        self._thread = None
        self._result = None

    def _execute(self, query, params):
        cursor = psycopg.RawCursor(self.conn) if self.raw else self.conn.cursor()
        cursor.execute(query, params)
        rows = cursor.fetchall() if cursor.description else None
        return cursor.rowcount, rows

    def run(self, query, params=None, show=None, columns=None):
        """Runs QUERY and prints its rows (their first COLUMNS values; with 0, the row count)."""
        rowcount, rows = self._execute(query, params)
        shown = rows
        if rows is not None and columns is not None:
            shown = [row[:columns] for row in rows] if columns else None
        say(self.label, show or _first_line(query), rowcount, shown)
        return rowcount, rows

    def start(self, query, params=None, show=None):
        """Runs QUERY in a thread (it may block on a lock); `join` waits for it."""

        def target():
            try:
                self._result = ("ok", self._execute(query, params))
            except psycopg.Error as error:  # reported by join
                self._result = ("error", error)

        self._show = show or _first_line(query)
        self._thread = threading.Thread(target=target)
        self._thread.start()

    def wait_blocked(self, timeout=10.0):
        """Returns once this session waits on a lock; fails if it does not within TIMEOUT."""
        deadline = time.monotonic() + timeout
        with connect(self.conn.info.dbname, autocommit=True) as watcher:
            while time.monotonic() < deadline:
                row = watcher.execute(
                    "SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", (self.pid,)
                ).fetchone()
                if row and row[0] == "Lock":
                    say(self.label, f"{self._show}  -- waits for a lock")
                    return
                if self._thread and not self._thread.is_alive():
                    raise AssertionError(f"{self.label}: finished instead of waiting on a lock")
                time.sleep(0.02)
        raise AssertionError(f"{self.label}: not waiting on a lock after {timeout}s")

    def join(self):
        self._thread.join(30)
        kind, value = self._result
        if kind == "error":
            say(self.label, f"{self._show}  -- unblocked: ERROR {value.sqlstate} {value}")
            return None
        rowcount, rows = value
        say(self.label, f"{self._show}  -- unblocked", rowcount, rows)
        return value

    def close(self):
        self.conn.close()


class Transaction(Session):
    """A session on PostgreSQL's own $1 placeholders with autocommit off: its transaction opens
    with its first statement and ends with `commit` (a COMMIT statement) or `rollback`."""

    def __init__(self, dbname, label):
        super().__init__(dbname, label, raw=True)
        self.conn.autocommit = False
        self.failed = False

    def shown(self, rows):
        """The rows as `step` prints them."""
        return rows

    def step(self, query, params=None, show=None, timeout=10.0):
        """Runs QUERY and returns True once it has finished (its rows printed), or False once it
        waits on a lock (`resume` prints the rest)."""
        self.start(query, params, show)
        deadline = time.monotonic() + timeout
        with connect(self.conn.info.dbname, autocommit=True) as watcher:
            while time.monotonic() < deadline:
                if not self._thread.is_alive():
                    self._report("")
                    return True
                row = watcher.execute(
                    "SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", (self.pid,)
                ).fetchone()
                if row and row[0] == "Lock":
                    say(self.label, f"{self._show}  -- waits for a lock")
                    return False
                time.sleep(0.02)
        raise AssertionError(f"{self.label}: neither finished nor waiting after {timeout}s")

    def resume(self):
        self._report("  -- unblocked")

    def _report(self, note):
        self._thread.join(30)
        kind, value = self._result
        self.failed = kind == "error"
        if self.failed:
            first = str(value).splitlines()[0]
            say(self.label, f"{self._show}{note}: ERROR {value.sqlstate} {first}")
            return
        rowcount, rows = value
        say(self.label, self._show + note, rowcount, None if rows is None else self.shown(rows))

    def commit(self):
        return self.step("COMMIT")

    def rollback(self):
        self.conn.rollback()
        say(self.label, "ROLLBACK")

    def finish(self):
        """Ends the transaction: ROLLBACK after an error, else COMMIT."""
        if self.failed:
            self.rollback()
        else:
            self.commit()


def _first_line(query):
    line = " ".join(query.split())
    return line if len(line) <= 70 else line[:67] + "..."


def _short(value):
    """A row value as printed: UUIDs by their first 8 digits."""
    if isinstance(value, uuid.UUID):
        return str(value)[:8] + "..."
    return value


def say(label, what, rowcount=None, rows=None):
    text = f"  {label:<4} {what}"
    if rows is not None:
        shown = [tuple(_short(value) for value in row) for row in rows]
        text += f"  -> {shown}"
    elif rowcount is not None and rowcount >= 0:
        text += f"  -> {rowcount} row(s)"
    print(text)


def title(text):
    print()
    print(text)
