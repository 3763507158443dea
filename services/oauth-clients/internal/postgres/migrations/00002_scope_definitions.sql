-- +goose Up
-- OAuth scope definitions. Built-in platform scopes are stored once, under the system
-- tenant, with built_in set; every tenant's reads include them.
CREATE TABLE scope_definitions (
    tenant              text NOT NULL,
    name                text NOT NULL,
    display_name        text NOT NULL,
    description         text NOT NULL DEFAULT '',
    user_policy_id      text NOT NULL DEFAULT '',
    developer_policy_id text NOT NULL DEFAULT '',
    built_in            boolean NOT NULL DEFAULT false,
    version             bigint NOT NULL,
    created_by          text NOT NULL DEFAULT '',
    updated_by          text NOT NULL DEFAULT '',
    created_at          timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL,
    PRIMARY KEY (tenant, name)
);
CREATE INDEX scope_definitions_built_in ON scope_definitions (name) WHERE built_in;

-- Which clients list a scope: asked when a scope definition is deleted.
CREATE INDEX clients_scopes ON clients USING gin ((metadata -> 'scopes'));

-- +goose Down
DROP INDEX clients_scopes;
DROP TABLE scope_definitions;
