-- +goose Up
-- A scope definition's id: its name unless a caller chose another one (Cloudentity's
-- scopes have ids of their own, such as "1", which a migration keeps).
ALTER TABLE scope_definitions ADD COLUMN id text;
UPDATE scope_definitions SET id = name;
ALTER TABLE scope_definitions ALTER COLUMN id SET NOT NULL;
CREATE UNIQUE INDEX scope_definitions_id ON scope_definitions (tenant, id);

-- +goose Down
DROP INDEX scope_definitions_id;
ALTER TABLE scope_definitions DROP COLUMN id;
