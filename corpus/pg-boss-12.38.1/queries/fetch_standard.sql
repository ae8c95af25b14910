WITH
      
      
      
      next AS (
        SELECT j.id
        FROM pgboss.job j
        WHERE j.name = 'q'
          AND j.state < 'active'
          AND NOT j.blocked
          AND j.start_after <= pgboss.job_now()
        ORDER BY j.priority desc, j.created_on
        LIMIT 5
        FOR UPDATE OF j SKIP LOCKED
      )
      
      
      UPDATE pgboss.job j SET
        state = 'active',
        started_on = pgboss.job_now(),
        heartbeat_on = pgboss.job_now(),
        retry_count = CASE WHEN started_on IS NOT NULL THEN retry_count + 1 ELSE retry_count END
      FROM next
      WHERE name = 'q' AND j.id = next.id
      
      
      RETURNING j.id, name, data, retry_count as "retryCount", expire_seconds as "expireInSeconds", heartbeat_seconds as "heartbeatSeconds", group_id as "groupId", group_tier as "groupTier";
