-- +goose Up
CREATE TABLE consent_actions (
    tenant      text NOT NULL,
    id          uuid NOT NULL,
    name        text NOT NULL,
    description text NOT NULL DEFAULT '',
    version     bigint NOT NULL,
    created_at  timestamptz NOT NULL,
    modified_at timestamptz NOT NULL,
    PRIMARY KEY (tenant, id),
    CONSTRAINT consent_actions_name_key UNIQUE (tenant, name)
);

-- +goose Down
DROP TABLE consent_actions;
