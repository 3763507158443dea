-- +goose Up
-- Event versions come from the platform's event_version_seq now (pkg/events.Record
-- stamps them, advanced past the wall clock at start-up); this service's own sequence
-- is no longer drawn from.
DROP SEQUENCE IF EXISTS entity_version_seq;

-- +goose Down
CREATE SEQUENCE IF NOT EXISTS entity_version_seq;
