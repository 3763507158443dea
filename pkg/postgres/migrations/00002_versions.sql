-- +goose Up
-- Entity versions come from one sequence per database, advanced past the wall clock (in
-- microseconds) at every start (events.AdvanceVersions): a database restored from an
-- older dump never hands out again a version its consumers already hold.
CREATE SEQUENCE event_version_seq;

-- The newest version this service published of every entity, tombstones included: the
-- source side of the anti-entropy digests, written by events.Record with the event.
CREATE TABLE published_versions (
    subject  text PRIMARY KEY,
    tenant   text NOT NULL,
    version  bigint NOT NULL,
    deleted  boolean NOT NULL
);
CREATE INDEX published_versions_tenant ON published_versions (tenant, subject) WHERE NOT deleted;

-- The view side: whether the newest applied event of an entity was a tombstone, and its
-- tenant, so a view's per-tenant digest reads only what it holds.
ALTER TABLE event_versions ADD COLUMN tenant text NOT NULL DEFAULT '';
ALTER TABLE event_versions ADD COLUMN deleted boolean NOT NULL DEFAULT false;
UPDATE event_versions SET tenant = split_part(subject, '.', 2);
CREATE INDEX event_versions_tenant ON event_versions (tenant, subject) WHERE NOT deleted;

-- +goose Down
DROP INDEX event_versions_tenant;
ALTER TABLE event_versions DROP COLUMN deleted;
ALTER TABLE event_versions DROP COLUMN tenant;
DROP TABLE published_versions;
DROP SEQUENCE event_version_seq;
