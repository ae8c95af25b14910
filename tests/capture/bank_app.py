"""A bank application's withdraw, written as ORMs write it: read the row, compute in Python,
write the new value back, commit. Run from several threads at READ COMMITTED.

Usage: bank_app.py DSN [THREADS] [ROUNDS]. Uses psycopg 3 when installed, else psycopg2."""
import sys
import threading

try:
    import psycopg
    from psycopg import IsolationLevel

    def connect(dsn):
        conn = psycopg.connect(dsn, application_name="bank_app")
        conn.isolation_level = IsolationLevel.READ_COMMITTED
        return conn
except ImportError:
    import psycopg2 as psycopg
    import psycopg2.extensions

    def connect(dsn):
        conn = psycopg.connect(dsn, application_name="bank_app")
        conn.set_session(isolation_level=psycopg2.extensions.ISOLATION_LEVEL_READ_COMMITTED)
        return conn

dsn = sys.argv[1]
threads = int(sys.argv[2]) if len(sys.argv) > 2 else 4
rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 10

with connect(dsn) as conn:
    with conn.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS accounts")
        cur.execute("CREATE TABLE accounts (id int PRIMARY KEY, balance int NOT NULL)")
        cur.execute("INSERT INTO accounts SELECT g, 1000 FROM generate_series(1, 10) g")
    conn.commit()

def withdraw(worker):
    with connect(dsn) as conn:
        for round in range(rounds):
            account = (worker + round) % 10 + 1
            with conn.cursor() as cur:
                cur.execute("SELECT balance FROM accounts WHERE id = %s", (account,))
                (balance,) = cur.fetchone()
                cur.execute(
                    "UPDATE accounts SET balance = %s WHERE id = %s", (balance - 10, account)
                )
            conn.commit()

errors = []

def run(worker):
    try:
        withdraw(worker)
    except Exception as error:  # reported below: a thread's exception does not end the process
        errors.append(error)

workers = [threading.Thread(target=run, args=(n,)) for n in range(threads)]
for w in workers:
    w.start()
for w in workers:
    w.join()
if errors:
    sys.exit(f"bank_app: {errors[0]!r}")
