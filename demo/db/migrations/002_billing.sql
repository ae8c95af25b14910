-- migrate:up
CREATE TABLE accounts (
    id      bigint PRIMARY KEY,
    patient bigint NOT NULL,
    balance numeric(12, 2) NOT NULL DEFAULT 0
);

CREATE TABLE rooms (
    id   bigint PRIMARY KEY,
    name text NOT NULL
);

CREATE TABLE bookings (
    id      bigserial PRIMARY KEY,
    room_id bigint NOT NULL REFERENCES rooms (id),
    during  tstzrange NOT NULL
);

-- migrate:down
DROP TABLE bookings;
DROP TABLE rooms;
DROP TABLE accounts;
