WITH resumable as (
      SELECT id, completed_on
      FROM pgboss.job
      WHERE name = $1
        AND id = ANY($2::uuid[])
        AND state = 'cancelled'
    ),
    results as (
      UPDATE pgboss.job j
      SET completed_on = NULL,
        state = 'created',
        upsert_by_key = NULL,
        start_after = GREATEST(j.start_after, pgboss.job_now())
      FROM resumable r
      WHERE j.name = $1
        AND j.id = r.id
        AND j.state = 'cancelled'
      RETURNING r.completed_on
    )
    SELECT COUNT(*), (COUNT(*) FILTER (WHERE completed_on <= (SELECT retained_on FROM pgboss.queue WHERE name = $1)))::int AS retained
    FROM results;
