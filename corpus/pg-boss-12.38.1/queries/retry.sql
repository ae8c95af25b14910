WITH results as (
      UPDATE pgboss.job
      SET state = 'retry',
        retry_limit = retry_limit + 1,
        completed_on = NULL,
        start_after = GREATEST(start_after, pgboss.job_now())
      WHERE name = $1
        AND id = ANY($2::uuid[])
        AND state = 'failed'
      RETURNING 1
    )
    SELECT COUNT(*) from results;
