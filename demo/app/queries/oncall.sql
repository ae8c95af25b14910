-- A doctor may leave a shift only while another doctor stays on call.
-- name: LeaveShift :exec
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT count(*) FROM oncall WHERE shift_id = $1 AND on_call;
UPDATE oncall SET on_call = false WHERE shift_id = $1 AND doctor_id = $2;
COMMIT;

-- name: JoinShift :exec
INSERT INTO oncall (shift_id, doctor_id) VALUES ($1, $2)
ON CONFLICT (shift_id, doctor_id) DO UPDATE SET on_call = true;
