DELETE FROM pgqueuer_schedules WHERE id = ANY($1) OR entrypoint = ANY($2);
