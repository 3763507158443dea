-- +goose Up
CREATE TABLE actions (
    tenant       text NOT NULL,
    id           text NOT NULL,
    display_name text NOT NULL,
    description  text NOT NULL DEFAULT '',
    version      bigint NOT NULL,
    created_at   timestamptz NOT NULL,
    modified_at  timestamptz NOT NULL,
    PRIMARY KEY (tenant, id)
);

-- +goose Down
DROP TABLE actions;
