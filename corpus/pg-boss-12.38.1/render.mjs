// Renders the SQL of pg-boss 12.38.1 with pg-boss's own plan builders (dist/plans.js of the npm
// tarball), one statement per file.
//
//   node render.mjs PACKAGE_DIR [OUTPUT_DIR]
//
// PACKAGE_DIR is the unpacked tarball's package/ folder (plans.js imports only node:assert,
// its own dist/ files and dist/schema.json: no dependency needs installing). OUTPUT_DIR
// (default: the current directory) gets migrations/001_create.sql and queries/<name>.sql, each
// statement trimmed and ended with ";\n".
//
// Settings: schema "pgboss", job table "job", queue name "q". plans.create() is rendered with
// createSchema (the default of pg-boss's Contractor, dist/contractor.js), noTablePartitioning (the job table is a plain table whose indexes and constraints are created
// directly on it; with partitioning they are created on the partitions through dynamic SQL,
// pgboss.job_table_run) and noAdvisoryLocks (no pg_advisory_xact_lock statement in the install
// transaction), with the package's schema version (package.json "pgboss": {"schema": 46}, what
// pg-boss's own install passes) in the version row. The expiry sweeps failJobsByTimeout and
// failJobsByHeartbeat are rendered with noAdvisoryLocks too, and only the sweep statement is kept:
// plans.locked() wraps it in BEGIN; SET LOCAL lock_timeout; SET LOCAL
// idle_in_transaction_session_timeout; ...; COMMIT, which is stripped here. On stock PostgreSQL
// (noAdvisoryLocks false) pg-boss also takes pg_advisory_xact_lock(key of table +
// 'failJobsByTimeout' or 'failJobsByHeartbeat') first in that transaction: see PROVENANCE.md.
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const [packageDir, out = '.'] = process.argv.slice(2);
if (!packageDir) {
  console.error('usage: node render.mjs PACKAGE_DIR [OUTPUT_DIR]');
  process.exit(2);
}
const p = await import(pathToFileURL(path.resolve(packageDir, 'dist', 'plans.js')).href);
fs.mkdirSync(path.join(out, 'migrations'), { recursive: true });
fs.mkdirSync(path.join(out, 'queries'), { recursive: true });

const S = 'pgboss', T = 'job';
const schemaVersion = JSON.parse(fs.readFileSync(path.resolve(packageDir, 'package.json'), 'utf8')).pgboss.schema;
const txt = x => (typeof x === 'string' ? x : x.text);
fs.writeFileSync(path.join(out, 'migrations', '001_create.sql'), txt(p.create(S, schemaVersion, { createSchema: true, noTablePartitioning: true, noAdvisoryLocks: true })));
const Q = {
  fetch_standard: p.fetchNextJob({ schema: S, table: T, name: 'q', policy: 'standard', limit: 5, includeMetadata: false }),
  fetch_singleton: p.fetchNextJob({ schema: S, table: T, name: 'q', policy: 'singleton', limit: 5, includeMetadata: false }),
  fetch_group: p.fetchNextJob({ schema: S, table: T, name: 'q', policy: 'standard', limit: 5, includeMetadata: false, groupConcurrency: 2 }),
  complete: p.completeJobs(S, T, false, true),
  cancel: p.cancelJobs(S, T, true),
  resume: p.resumeJobs(S, T),
  fail_by_id: p.failJobsById(S, T, true),
  touch: p.touchJobs(S, T, true),
  insert: p.insertJobs(S, { table: T, name: 'q' }),
  delete_by_id: p.deleteJobsById(S, T, true),
  retry: p.retryJobs(S, T),
};
// The expiry sweeps: locked() wraps them in a transaction; keep the statement only.
const body = s => s.replace(/^\s*BEGIN;[\s\S]*?idle_in_transaction_session_timeout = 30000;/, '').replace(/;\s*COMMIT;\s*$/, '');
Q.expire_timeout = body(p.failJobsByTimeout(S, T, ['q'], true));
Q.expire_heartbeat = body(p.failJobsByHeartbeat(S, T, ['q'], true));
for (const [k, v] of Object.entries(Q)) {
  let s = txt(v).trim();
  if (!s.endsWith(';')) s += ';';
  fs.writeFileSync(path.join(out, 'queries', `${k}.sql`), s + '\n');
}
