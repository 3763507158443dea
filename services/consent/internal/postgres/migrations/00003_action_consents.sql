-- +goose Up
-- The consents a consent action asks for: [{"consentId": ..., "required": bool}].
ALTER TABLE consent_actions ADD COLUMN consents jsonb NOT NULL DEFAULT '[]';

-- +goose Down
ALTER TABLE consent_actions DROP COLUMN consents;
