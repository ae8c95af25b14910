-- name: ChargePatient :exec
BEGIN;
SELECT balance FROM accounts WHERE id = $1;
-- the service computes the new balance and checks the credit limit
UPDATE accounts SET balance = $2 WHERE id = $1;
COMMIT;

-- name: RecordPayment :exec
UPDATE accounts SET balance = balance + $2 WHERE id = $1;
