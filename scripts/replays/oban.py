"""Replays behind the review of oban 0.7.0 (docs/real-world.md), on PostgreSQL 15 at
READ COMMITTED, with oban's own install.sql and query files from corpus/oban-0.7.0/queries/.
Each transaction is run the way oban/_query.py runs it (`conn.transaction()` around the file).

    python3 scripts/replays/oban.py        (see pg.py for the server)
"""

import pg

Q = pg.ROOT / "corpus" / "oban-0.7.0" / "queries"
DB = "replay_oban"


def q(name):
    return pg.sql(Q / f"{name}.sql")


def setup(rows):
    """A fresh schema, then ROWS: INSERTs of jobs and leaders, run as the test's own setup."""
    pg.fresh_db(DB, [Q / "install.sql"])
    with pg.connect(DB, autocommit=True) as conn:
        for row in rows:
            conn.execute(row)


def job(id_, state, queue="q", extra=""):
    return (
        "INSERT INTO oban_jobs (id, state, queue, worker, args"
        + (", " + extra.split("=")[0] if extra else "")
        + ") OVERRIDING SYSTEM VALUE VALUES ("
        + f"{id_}, '{state}', '{queue}', 'Worker', '{{}}'"
        + (", " + extra.split("=", 1)[1] if extra else "")
        + ")"
    )


def state_of(id_):
    with pg.connect(DB, autocommit=True) as conn:
        return conn.execute("SELECT state FROM oban_jobs WHERE id = %s", (id_,)).fetchone()


def replay_prune_deletes_retried_job():
    pg.title(
        "1. prune_jobs x retry_many_jobs (not reported by isolint): a job retried while the "
        "pruner runs is deleted"
    )
    old = "completed_at=timezone('UTC', now()) - interval '2 days'"
    setup([job(1, "completed", extra=old)])
    admin, pruner = pg.Session(DB, "T1"), pg.Session(DB, "T2")
    admin.run("BEGIN")
    admin.run(q("retry_many_jobs"), {"ids": [1]}, show="retry_many_jobs(ids={1})")
    pruner.start(q("prune_jobs"), {"max_age": 86400, "limit": 100}, show="prune_jobs(max_age=1 day)")
    pruner.wait_blocked()
    admin.run("COMMIT")
    pruner.join()
    print(f"  job 1 after both committed: {state_of(1)}  (retry_many_jobs had returned 1)")

    pg.title("1b. the other order: prune first, then retry (a serial outcome)")
    setup([job(1, "completed", extra=old)])
    pruner.close()
    admin.close()
    admin, pruner = pg.Session(DB, "T1"), pg.Session(DB, "T2")
    pruner.run("BEGIN")
    pruner.run(q("prune_jobs"), {"max_age": 86400, "limit": 100}, show="prune_jobs(max_age=1 day)")
    admin.start(q("retry_many_jobs"), {"ids": [1]}, show="retry_many_jobs(ids={1})")
    admin.wait_blocked()
    pruner.run("COMMIT")
    admin.join()
    print(f"  job 1: {state_of(1)}  (retry reports 0 jobs retried: the job was already pruned)")
    admin.close()
    pruner.close()


def replay_fetch_and_stage():
    pg.title(
        "2. fetch_jobs x stage_jobs (phantom-write-skew, harmless): the stager reports a queue "
        "for a job the fetcher has taken"
    )
    past = "scheduled_at=timezone('UTC', now()) - interval '1 minute'"
    setup([job(1, "available"), job(2, "scheduled", extra=past)])
    fetcher, stager = pg.Session(DB, "T1"), pg.Session(DB, "T2")
    fetcher.run("BEGIN")
    fetcher.run(
        q("fetch_jobs"),
        {"queue": "q", "demand": 10, "attempted_by": ["node", "uuid"]},
        show="fetch_jobs(queue=q, demand=10) RETURNING id, state, ...",
        columns=2,
    )
    stager.run("BEGIN")
    stager.run(
        q("stage_jobs"),
        {"limit": 10, "queues": ["q"], "before": None},
        show="stage_jobs(queues={q}) -> queues with available jobs",
    )
    stager.run("COMMIT")
    fetcher.run("COMMIT")
    print(f"  job 1: {state_of(1)}, job 2: {state_of(2)}")
    print("  serial fetch;stage: stage returns no queue; serial stage;fetch: fetch takes 1 and 2")

    pg.title("2b. stage_jobs alone does not see what its own CTE staged (no concurrency)")
    setup([job(2, "scheduled", extra=past)])
    stager.close()
    fetcher.close()
    stager = pg.Session(DB, "T1")
    stager.run(
        q("stage_jobs"),
        {"limit": 10, "queues": ["q"], "before": None},
        show="stage_jobs(queues={q}) -> queues with available jobs",
    )
    print(f"  job 2: {state_of(2)}")
    stager.close()


def replay_two_stagers():
    pg.title(
        "2c. stage_jobs x stage_jobs (phantom-write-skew, harmless): neither stager wakes the "
        "queue for the jobs both staged"
    )
    past = "scheduled_at=timezone('UTC', now()) - interval '1 minute'"
    setup([job(1, "scheduled", extra=past), job(2, "scheduled", extra=past)])
    a, b = pg.Session(DB, "T1"), pg.Session(DB, "T2")
    args = {"limit": 1, "queues": ["q"], "before": None}
    a.run("BEGIN")
    a.run(q("stage_jobs"), args, show="stage_jobs(limit=1, queues={q})")
    b.run("BEGIN")
    b.run(q("stage_jobs"), args, show="stage_jobs(limit=1, queues={q})")
    a.run("COMMIT")
    b.run("COMMIT")
    print(f"  job 1: {state_of(1)}, job 2: {state_of(2)}; serially the second stager returns q")
    a.close()
    b.close()


def replay_cancel_and_fetch():
    pg.title("3. cancel_many_jobs x fetch_jobs (phantom-write-skew, false): the lock serialises")
    setup([job(1, "available")])
    fetcher, canceller = pg.Session(DB, "T1"), pg.Session(DB, "T2")
    fetcher.run("BEGIN")
    fetcher.run(
        q("fetch_jobs"),
        {"queue": "q", "demand": 1, "attempted_by": ["node", "uuid"]},
        show="fetch_jobs(queue=q, demand=1) RETURNING id, state, ...",
        columns=2,
    )
    canceller.start(q("cancel_many_jobs"), {"ids": [1]}, show="cancel_many_jobs(ids={1})")
    canceller.wait_blocked()
    fetcher.run("COMMIT")
    canceller.join()
    print(f"  job 1: {state_of(1)}  (cancel saw it executing and left it to the pkill signal)")
    fetcher.close()
    canceller.close()


def replay_leadership():
    pg.title("4. attempt_leadership x attempt_leadership (phantom-write-skew, false): one leader")
    setup(
        [
            "INSERT INTO oban_leaders (name, node, elected_at, expires_at) VALUES ('oban', 'A', "
            "timezone('UTC', now()) - interval '2 minutes', timezone('UTC', now()) - interval "
            "'1 minute')"
        ]
    )
    b, c = pg.Session(DB, "B"), pg.Session(DB, "C")
    b.run("BEGIN")
    c.run("BEGIN")
    b.run(q("cleanup_expired_leaders"), show="cleanup_expired_leaders")
    c.start(q("cleanup_expired_leaders"), show="cleanup_expired_leaders")
    c.wait_blocked()
    b.run(q("elect_leader"), {"name": "oban", "node": "B", "ttl": 30}, show="elect_leader(node=B)")
    b.run("COMMIT")
    c.join()
    c.run(q("elect_leader"), {"name": "oban", "node": "C", "ttl": 30}, show="elect_leader(node=C)")
    c.run("COMMIT")
    with pg.connect(DB, autocommit=True) as conn:
        print(f"  leaders: {conn.execute('SELECT name, node FROM oban_leaders').fetchall()}")
    b.close()
    c.close()


def replay_update_job_lost_update():
    pg.title(
        "5. Oban.update_job(id, lambda job: {'tags': [...] + job.tags}) twice (not reported by "
        "isolint): get_job and update_job run in separate transactions, one tag is lost"
    )
    setup([job(1, "scheduled")])
    a, b = pg.Session(DB, "T1"), pg.Session(DB, "T2")
    fields = "args, max_attempts, meta, priority, queue, scheduled_at, tags, worker"
    read = {}
    for session in (a, b):
        cursor = session.conn.execute(q("get_job"), (1,))
        read[session.label] = cursor.fetchone()
        tags = [c.name for c in cursor.description].index("tags")
        pg.say(session.label, "get_job(1) -> tags", rows=[(read[session.label][tags],)])
    with pg.connect(DB, autocommit=True) as conn:
        names = [c.name for c in conn.execute(q("get_job"), (1,)).description]
    for session, tag in ((a, "from-a"), (b, "from-b")):
        row = dict(zip(names, read[session.label]))
        params = {key: row[key] for key in fields.split(", ")}
        params["args"] = pg.psycopg.types.json.Jsonb(row["args"])
        params["meta"] = pg.psycopg.types.json.Jsonb(row["meta"])
        params["tags"] = [tag] + row["tags"]
        params["id"] = 1
        session.run(
            q("update_job"), params, show=f"update_job(1, tags=[{tag!r}] + tags read)", columns=0
        )
    with pg.connect(DB, autocommit=True) as conn:
        print(f"  tags: {conn.execute('SELECT tags FROM oban_jobs WHERE id = 1').fetchone()[0]}")
    a.close()
    b.close()


if __name__ == "__main__":
    replay_prune_deletes_retried_job()
    replay_fetch_and_stage()
    replay_two_stagers()
    replay_cancel_and_fetch()
    replay_leadership()
    replay_update_job_lost_update()
