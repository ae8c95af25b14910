WITH results as (
      DELETE FROM pgboss.job
      WHERE name = $1
        AND id = ANY($2::uuid[])
        AND state = 'active'
        AND (id::text || ':' || retry_count::text) = ANY($3::text[])
      RETURNING id, state, completed_on
    )
    SELECT COUNT(*), COALESCE(array_agg(id), '{}'::uuid[]) AS ids,
      (COUNT(*) FILTER (WHERE state IN ('completed', 'cancelled')
        AND completed_on <= (SELECT retained_on FROM pgboss.queue WHERE name = $1)))::int AS retained
    FROM results;
