-- +goose Up
-- Client subjects: a view of oauth-clients' clients, kept from their events. Never
-- written by this service's API.
CREATE TABLE client_subjects (
    tenant       text NOT NULL,
    id           text NOT NULL,
    display_name text NOT NULL,
    description  text NOT NULL DEFAULT '',
    icon_uri     text NOT NULL DEFAULT '',
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant, id)
);
CREATE INDEX client_subjects_name ON client_subjects (tenant, lower(display_name), id);

-- +goose Down
DROP TABLE client_subjects;
