-- migrate:up
CREATE TABLE doctors (
    id   bigint PRIMARY KEY,
    name text NOT NULL
);

CREATE TABLE shifts (
    id       bigint PRIMARY KEY,
    starts   timestamptz NOT NULL
);

CREATE TABLE oncall (
    shift_id  bigint NOT NULL REFERENCES shifts (id),
    doctor_id bigint NOT NULL REFERENCES doctors (id),
    on_call   boolean NOT NULL DEFAULT true,
    PRIMARY KEY (shift_id, doctor_id)
);

-- migrate:down
DROP TABLE oncall;
DROP TABLE shifts;
DROP TABLE doctors;
