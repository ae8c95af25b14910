"""Replays behind the review of pg-boss 12.38.1 (docs/real-world.md), on PostgreSQL 15 at
READ COMMITTED, with the schema and query files rendered into corpus/pg-boss-12.38.1/ (schema
pgboss, one queue 'q'). The schema file is loaded after a `CREATE SCHEMA pgboss`; queues are
created and deleted with the schema's own create_queue and delete_queue functions. Titles name
the pair numbers of the review's table.

Each query runs in a transaction that a later COMMIT ends, so that two of them overlap. A step
that waits on a lock (a COMMIT too: the foreign key of job.name is checked at commit) is
reported as waiting and finishes after the other session's COMMIT. Job ids are UUID(int=n),
printed by their last two hex digits.

    python3 scripts/replays/pg_boss.py        (see pg.py for the server)
"""

import json
import tempfile
import uuid
from pathlib import Path

import pg

ROOT = pg.ROOT / "corpus" / "pg-boss-12.38.1"
QUERIES = ROOT / "queries"
DB = "replay_pgboss"
DELETE_QUEUE = "SELECT pgboss.delete_queue('q')"
STATE = (
    "SELECT right(id::text, 2) AS id, name, state, retry_count, group_id, singleton_key "
    "FROM pgboss.job ORDER BY name, id, state"
)
ACTIVE_PER_GROUP = (
    "SELECT group_id, count(*) FROM pgboss.job WHERE state = 'active' GROUP BY group_id ORDER BY 1"
)
_TMP = tempfile.TemporaryDirectory()
SCHEMA = Path(_TMP.name) / "schema.sql"
SCHEMA.write_text("CREATE SCHEMA pgboss;\n" + (ROOT / "migrations" / "001_create.sql").read_text())


def q(name):
    return DELETE_QUEUE if name == "delete_queue" else pg.sql(QUERIES / f"{name}.sql")


def U(n):
    return str(uuid.UUID(int=n))


def brief(value):
    if isinstance(value, uuid.UUID):
        return str(value)[-2:]
    if isinstance(value, list):
        return [brief(item) for item in value]
    return value


class Session(pg.Transaction):
    """A transaction of this replay's database that runs query files by name."""

    def __init__(self, label):
        super().__init__(DB, label)

    def step(self, name, params=None, timeout=10.0):
        """Runs query file NAME (or a COMMIT): see `pg.Transaction.step`."""
        query = q(name) if name != "COMMIT" else "COMMIT"
        return super().step(query, params, show=name, timeout=timeout)

    def shown(self, rows):
        return [tuple(brief(v) for v in row) for row in rows]


def setup(jobs=(), policy="standard"):
    """A fresh schema with queue 'q' of POLICY, then JOBS (INSERTs)."""
    pg.fresh_db(DB, [SCHEMA])
    with pg.connect(DB, autocommit=True) as conn:
        conn.execute(f"SELECT pgboss.create_queue('q', '{{\"policy\":\"{policy}\"}}'::jsonb)")
        for row in jobs:
            conn.execute(row)


def job(n, state, **columns):
    """An INSERT of job U(N) in queue 'q'; COLUMNS are SQL expressions."""
    values = {"id": f"'{U(n)}'", "name": "'q'", "state": f"'{state}'", **columns}
    return f"INSERT INTO pgboss.job ({', '.join(values)}) VALUES ({', '.join(values.values())})"


def dump(query):
    with pg.connect(DB, autocommit=True) as conn:
        return conn.execute(query).fetchall()


def final(note=""):
    print(f"  final: {dump(STATE)}" + (f" {note}" if note else ""))


def final_with_queues():
    print(f"  final jobs: {dump(STATE)}  queues: {dump('SELECT name FROM pgboss.queue')}")


def close(*sessions):
    for session in sessions:
        session.close()


DUE = "now() - interval '1 minute'"
STALE_HB = dict(
    started_on="now() - interval '1 hour'",
    heartbeat_on="now() - interval '1 hour'",
    heartbeat_seconds="30",
    expire_seconds="60",
)
INSERT_7 = [json.dumps([{"id": U(7), "data": {"x": 1}}])]
FAIL_1 = ["q", [U(1)], json.dumps({"m": "boom"}), [f"{U(1)}:0"]]
BY_ID_1 = ["q", [U(1)], [f"{U(1)}:0"]]  # cancel and delete_by_id of job 1


def two(first, second, note, jobs=(), policy="standard", result=final):
    """FIRST's step, SECOND's step, COMMIT of FIRST, then SECOND's end. Each is (label, query
    name, parameters)."""
    pg.title(note)
    setup(jobs, policy)
    a, b = Session(first[0]), Session(second[0])
    a.step(first[1], first[2])
    finished = b.step(second[1], second[2])
    a.commit()
    if not finished:
        b.resume()
    b.finish()
    result()
    close(a, b)


def serial(first, second, note, jobs=()):
    pg.title(note)
    setup(jobs)
    for label, name, params in (first, second):
        session = Session(label)
        session.step(name, params)
        session.commit()
        session.close()
    final()


def replay_delete_queue():
    pg.title(
        "R1a insert vs delete_queue (pair 28): T1 insert (uncommitted), T2 delete_queue, "
        "T1 COMMIT, T2 COMMIT"
    )
    setup()
    a, b = Session("T1"), Session("T2")
    a.step("insert", INSERT_7)
    b.step("delete_queue")
    finished = a.commit()
    b.commit()
    if not finished:
        a.resume()
    final_with_queues()
    close(a, b)

    pg.title(
        "R1b insert vs delete_queue (pair 28), other order: T2 delete_queue, T1 insert, "
        "T2 COMMIT, T1 COMMIT"
    )
    setup()
    a, b = Session("T1"), Session("T2")
    b.step("delete_queue")
    a.step("insert", INSERT_7)
    b.commit()
    if not a.commit():
        a.resume()
    final_with_queues()
    close(a, b)

    two(
        ("T1", "expire_heartbeat", None),
        ("T2", "delete_queue", None),
        "R1c expire_heartbeat vs delete_queue (pairs 8 and 1): T1 expire (re-inserts job 1), "
        "T2 delete_queue waits, T1 COMMIT",
        jobs=[job(1, "active", **STALE_HB)],
        result=final_with_queues,
    )
    two(
        ("T1", "fail_by_id", FAIL_1),
        ("T2", "delete_queue", None),
        "R1d fail_by_id vs delete_queue (pair 18): T1 fail_by_id job 1 (re-inserts it as "
        "retry), T2 delete_queue waits, T1 COMMIT",
        jobs=[job(1, "active", started_on="now()", heartbeat_on="now()")],
        result=final_with_queues,
    )
    two(
        ("T2", "delete_queue", None),
        ("T1", "expire_timeout", None),
        "R1e expire_timeout vs delete_queue (pair 15): T2 delete_queue deletes the jobs first, "
        "T1 expire_timeout, T2 COMMIT",
        jobs=[job(1, "active", started_on="now() - interval '1 hour'", expire_seconds="60")],
        result=final_with_queues,
    )


def replay_sweeps():
    stale = [job(1, "active", **STALE_HB)]  # stale by heartbeat and by age: every sweep matches
    two(
        ("T1", "expire_heartbeat", None),
        ("T2", "expire_heartbeat", None),
        "R2a expire_heartbeat x2 (pair 2): both pick job 1; T2's DELETE waits and skips the "
        "deleted row",
        jobs=stale,
    )
    serial(
        ("S1", "expire_heartbeat", None),
        ("S2", "expire_heartbeat", None),
        "R2a serial expire_heartbeat; expire_heartbeat",
        jobs=stale,
    )
    two(
        ("T1", "expire_heartbeat", None),
        ("T2", "expire_timeout", None),
        "R2b expire_heartbeat vs expire_timeout (pair 3) on a job both match",
        jobs=stale,
    )
    two(
        ("T1", "expire_timeout", None),
        ("T2", "expire_timeout", None),
        "R2c expire_timeout x2 (pair 10)",
        jobs=stale,
    )
    two(
        ("T1", "fail_by_id", FAIL_1),
        ("T2", "expire_heartbeat", None),
        "R2d fail_by_id then expire_heartbeat on the same job (pair 4)",
        jobs=stale,
    )
    two(
        ("T1", "expire_timeout", None),
        ("T2", "fail_by_id", FAIL_1),
        "R2e expire_timeout then fail_by_id on the same job (pair 11)",
        jobs=stale,
    )
    two(
        ("T1", "fail_by_id", FAIL_1),
        ("T2", "fail_by_id", FAIL_1),
        "R2f fail_by_id x2 on the same job and attempt (pair 17)",
        jobs=stale,
    )
    two(
        ("T3", "cancel", BY_ID_1),
        ("T2", "expire_heartbeat", None),
        "R2g cancel (Tout) commits while the pivot expire_heartbeat waits (pair 9)",
        jobs=stale,
    )
    two(
        ("T3", "cancel", BY_ID_1),
        ("T2", "expire_timeout", None),
        "R2h cancel (Tout) commits while the pivot expire_timeout waits (pair 16)",
        jobs=stale,
    )
    two(
        ("T3", "delete_by_id", BY_ID_1),
        ("T2", "fail_by_id", FAIL_1),
        "R2i delete_by_id (Tout) commits while the pivot fail_by_id waits (pair 19)",
        jobs=stale,
    )


def side_by_side(first, second, note, jobs, policy="standard", after=""):
    """FIRST's step, SECOND's step (neither waits), COMMIT of FIRST, COMMIT of SECOND."""
    pg.title(note)
    setup(jobs, policy)
    a, b = Session(first[0]), Session(second[0])
    a.step(first[1], first[2])
    b.step(second[1], second[2])
    a.commit()
    b.commit()
    final(after)
    close(a, b)


def replay_sweeps_and_claims():
    seed = [
        job(1, "active", group_id="'g'", **STALE_HB),
        job(2, "created", group_id="'g'", start_after=DUE),
    ]
    side_by_side(
        ("T1", "expire_heartbeat", None),
        ("T2", "fetch_group", [1]),
        "R3a expire_heartbeat vs fetch_group (pairs 5 and 24): expire moves job 1 out of "
        "'active', fetch_group (limit 1) counted it",
        seed,
    )
    serial(
        ("S1", "fetch_group", [1]),
        ("S2", "expire_heartbeat", None),
        "R3a serial fetch_group; expire_heartbeat",
        jobs=seed,
    )

    pg.title(
        "R3b fetch_standard claims job 2 (uncommitted), expire_heartbeat and expire_timeout run "
        "(pairs 7, 14, and the Tin->pivot edge of 24, 26, 27): neither touches it"
    )
    setup([job(2, "created", start_after=DUE, heartbeat_seconds="30", expire_seconds="60")])
    f, e1, e2 = Session("T2"), Session("T1"), Session("T3")
    f.step("fetch_standard")
    e1.step("expire_heartbeat")
    e2.step("expire_timeout")
    for session in (f, e1, e2):
        session.commit()
    e1.step("expire_heartbeat")
    e2.step("expire_timeout")
    e1.commit()
    e2.commit()
    final()
    close(f, e1, e2)

    singleton = dict(singleton_key="'k'", policy="'singleton'")
    side_by_side(
        ("T1", "expire_heartbeat", None),
        ("T2", "fetch_singleton", None),
        "R3c fetch_singleton vs expire_heartbeat (pair 6): expire moves the active job of key "
        "k out, fetch_singleton saw it active and skips key k",
        [
            job(1, "active", **singleton, **STALE_HB),
            job(2, "created", **singleton, start_after=DUE),
        ],
        policy="singleton",
        after="(= serial fetch_singleton; expire_heartbeat)",
    )
    side_by_side(
        ("T1", "expire_timeout", None),
        ("T2", "fetch_group", [1]),
        "R3d expire_timeout vs fetch_group (pair 12): expire moves job 1 out of 'active', "
        "fetch_group (limit 1) counted it",
        [
            job(1, "active", group_id="'g'", started_on="now() - interval '1 hour'",
                expire_seconds="60"),
            job(2, "created", group_id="'g'", start_after=DUE),
        ],
        after="(= serial fetch_group; expire_timeout)",
    )
    side_by_side(
        ("T1", "expire_timeout", None),
        ("T2", "fetch_singleton", None),
        "R3e expire_timeout vs fetch_singleton (pair 13)",
        [
            job(1, "active", **singleton, started_on="now() - interval '1 hour'",
                expire_seconds="60"),
            job(2, "created", **singleton, start_after=DUE),
        ],
        policy="singleton",
        after="(= serial fetch_singleton; expire_timeout)",
    )


def replay_group_claims():
    seed = (
        [job(9, "active", group_id="'g'", started_on="now()", heartbeat_on="now()"),
         job(1, "created", group_id="'g'", priority="10", start_after=DUE)]
        + [job(n, "created", group_id="'h'", priority="5", start_after=DUE) for n in (2, 3, 4, 5)]
        + [job(6, "created", group_id="'g'", priority="1", start_after=DUE)]
    )
    side_by_side(
        ("T1", "fetch_group", [2]),
        ("T2", "fetch_group", [2]),
        "R4a fetch_group x2 (pair 20, true): group g limit 2, one job of g active; jobs ordered "
        "so T1's 5 candidates hold g1 and T2 gets g2",
        seed,
    )
    print(f"  active per group: {dump(ACTIVE_PER_GROUP)}")
    pg.title("R4a serial fetch_group; fetch_group")
    setup(seed)
    for label in ("S1", "S2"):
        session = Session(label)
        session.step("fetch_group", [2])
        session.commit()
        session.close()
    print(f"  active per group: {dump(ACTIVE_PER_GROUP)}")

    seed = [
        job(9, "active", group_id="'g'", started_on="now()", heartbeat_on="now()"),
        job(1, "created", group_id="'g'", priority="10", start_after=DUE),
        job(2, "created", group_id="'g'", priority="10", start_after=DUE),
    ]
    side_by_side(
        ("T2", "fetch_standard", None),
        ("T1", "fetch_group", [2]),
        "R4b fetch_group vs fetch_standard (pair 22): T2 fetch_standard claims g jobs, T1 "
        "fetch_group counted g without them",
        seed,
        after="(= serial fetch_group; fetch_standard: the group claim finds nothing unlocked)",
    )
    side_by_side(
        ("T1", "fetch_group", [2]),
        ("T2", "fetch_standard", None),
        "R4c fetch_group then fetch_standard, group claim first",
        seed,
    )


def replay_resume():
    side_by_side(
        ("T2", "resume", ["q", [U(3)]]),
        ("T1", "fetch_group", [2]),
        "R5 resume vs fetch_group (pair 23): resume job 3 (cancelled -> created) while "
        "fetch_group claims",
        [
            job(3, "cancelled", group_id="'g'", completed_on="now()", start_after=DUE),
            job(1, "created", group_id="'g'", start_after=DUE),
        ],
        after="(= serial fetch_group; resume)",
    )

    pg.title(
        "R5b expire_heartbeat (Tout) commits, then resume and fetch_group (pair 30): expire "
        "never writes a cancelled row"
    )
    setup([
        job(3, "cancelled", completed_on="now()"),
        job(1, "active", group_id="'g'", **STALE_HB),
        job(2, "created", group_id="'g'", start_after=DUE),
    ])
    r, e, g = Session("T2"), Session("T3"), Session("T1")
    r.step("resume", ["q", [U(3), U(1)]])
    e.step("expire_heartbeat")
    e.commit()
    g.step("fetch_group", [2])
    r.commit()
    g.commit()
    final()
    close(r, e, g)


def replay_singleton_claims():
    singleton = dict(policy="'singleton'", start_after=DUE)
    two(
        ("T1", "fetch_singleton", None),
        ("T2", "fetch_singleton", None),
        "R6 fetch_singleton x2 (pair 25): key k; T1's five candidates include k1, T2 gets k2; "
        "job_i2 refuses the second active k",
        jobs=[job(1, "created", singleton_key="'k'", priority="10", **singleton)]
        + [job(n, "created", singleton_key=f"'o{n}'", priority="5", **singleton)
           for n in (2, 3, 4, 5)]
        + [job(6, "created", singleton_key="'k'", priority="1", **singleton)],
        policy="singleton",
    )


def replay_insert_delete_claim():
    pg.title(
        "R7 insert vs delete_by_id vs fetch_group (pair 29, harmless): the insert skips J1 (key "
        "k, throttled by job 1 in job_i4) and adds J2; delete_by_id removes job 1 and commits; "
        "fetch_group misses J2"
    )
    slot = (
        "'epoch'::timestamp + '1s'::interval * (3600 * floor(date_part('epoch', now()) / 3600))"
    )
    setup([
        job(1, "active", group_id="'g'", singleton_key="'k'", singleton_on=slot,
            started_on="now()", heartbeat_on="now()")
    ])
    t2, t3, t1 = Session("T2"), Session("T3"), Session("T1")
    t2.step("insert", [json.dumps([
        {"id": U(11), "singletonKey": "k", "singletonSeconds": 3600},
        {"id": U(12), "groupId": "g"},
    ])])
    t3.step("delete_by_id", BY_ID_1)
    t3.commit()
    t1.step("fetch_group", [2])
    t2.commit()
    t1.commit()
    final()
    print(
        "  (serial insert; delete_by_id; fetch_group: J1 skipped, J2 claimed; serial "
        "delete_by_id; fetch_group; insert: J1 and J2 created)"
    )
    close(t1, t2, t3)


if __name__ == "__main__":
    replay_delete_queue()
    replay_sweeps()
    replay_sweeps_and_claims()
    replay_group_claims()
    replay_resume()
    replay_singleton_claims()
    replay_insert_delete_claim()
