-- name: BookRoom :exec
BEGIN;
SELECT 1 FROM bookings WHERE room_id = $1 AND during && $2;
INSERT INTO bookings (room_id, during) VALUES ($1, $2);
COMMIT;

-- name: CancelBooking :exec
DELETE FROM bookings WHERE id = $1;
