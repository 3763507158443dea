-- +goose Up
-- The transactional outbox: a service inserts its event here in the same transaction as
-- the change it describes; the relay publishes unsent rows to JetStream.
CREATE TABLE outbox (
    id          uuid PRIMARY KEY,            -- the CloudEvents id and the Nats-Msg-Id
    seq         bigserial NOT NULL UNIQUE,   -- publish order; never used as a cursor
    subject     text NOT NULL,               -- NATS subject, e.g. iam.<tenant>.clients.client.<id>
    payload     bytea NOT NULL,              -- the CloudEvents JSON envelope
    created_at  timestamptz NOT NULL DEFAULT now(),
    sent_at     timestamptz
);
-- The relay claims unsent rows in order; a partial index keeps that scan small however
-- many sent rows the replay window holds.
CREATE INDEX outbox_unsent ON outbox (seq) WHERE sent_at IS NULL;
CREATE INDEX outbox_sent_at ON outbox (sent_at) WHERE sent_at IS NOT NULL;

-- The version guard of views kept from other services' events: one row per entity (its
-- NATS subject) with the newest version applied. Tombstones keep their row, so a late
-- "created" never resurrects a deleted entity.
CREATE TABLE event_versions (
    subject     text PRIMARY KEY,
    version     bigint NOT NULL,
    event_id    uuid NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE event_versions;
DROP TABLE outbox;
