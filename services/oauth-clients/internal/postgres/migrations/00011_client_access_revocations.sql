-- +goose Up
-- Subjects' revocations of clients' access, kept from consent's client-access events: a
-- tombstone sets revoked_at (and clears any re-grant), a later upsert sets regranted_at.
-- Introspection treats the client's tokens for the subject as inactive when issued before
-- the re-grant (see tokens.AccessRevocation).
CREATE TABLE client_access_revocations (
    tenant       text NOT NULL,
    client_id    text NOT NULL,
    subject      text NOT NULL, -- user-<id> or client-<id>
    revoked_at   timestamptz NOT NULL,
    regranted_at timestamptz,
    PRIMARY KEY (tenant, client_id, subject)
);

-- +goose Down
DROP TABLE client_access_revocations;
