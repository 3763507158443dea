-- +goose Up
-- The developer (a token subject) owning a client registered through self-service or
-- dynamic registration; '' for clients an admin registered.
ALTER TABLE clients ADD COLUMN developer_id text NOT NULL DEFAULT '';
CREATE INDEX clients_developer ON clients (tenant, developer_id, created_at DESC, id) WHERE developer_id <> '';

-- +goose Down
DROP INDEX clients_developer;
ALTER TABLE clients DROP COLUMN developer_id;
