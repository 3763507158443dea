-- +goose Up
-- Views kept from oauth-clients' events: names and logos for consent screens.
CREATE TABLE client_view (
    tenant   text NOT NULL,
    id       text NOT NULL,
    name     text NOT NULL,
    logo_uri text NOT NULL DEFAULT '',
    PRIMARY KEY (tenant, id)
);
-- Built-in platform scopes live under the system tenant and apply to every tenant.
CREATE TABLE scope_view (
    tenant       text NOT NULL,
    name         text NOT NULL,
    display_name text NOT NULL,
    PRIMARY KEY (tenant, name)
);

-- The clients each subject let in, with the scopes it allowed.
CREATE TABLE client_access (
    tenant     text NOT NULL,
    subject    text NOT NULL,
    client_id  text NOT NULL,
    scopes     text[] NOT NULL,
    granted_at timestamptz NOT NULL,
    PRIMARY KEY (tenant, subject, client_id)
);
CREATE INDEX client_access_client ON client_access (tenant, client_id);

CREATE SEQUENCE entity_version_seq;

-- +goose Down
DROP SEQUENCE entity_version_seq;
DROP TABLE client_access;
DROP TABLE scope_view;
DROP TABLE client_view;
