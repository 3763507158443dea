-- +goose Up
-- Emporix (issue 16). User ids: a migration keeps the ids its users had (Emporix ids such
-- as 00u4ukqvzlEP31sCk417 are no UUIDs), so an id is any text of the subject id rule
-- (letters, digits, '_' and '-', at most 64); new users still get a UUID.
ALTER TABLE user_passwords DROP CONSTRAINT user_passwords_tenant_user_id_fkey;
ALTER TABLE login_sessions DROP CONSTRAINT login_sessions_tenant_user_id_fkey;
ALTER TABLE users ALTER COLUMN id TYPE text USING id::text;
ALTER TABLE user_passwords ALTER COLUMN user_id TYPE text USING user_id::text;
ALTER TABLE login_sessions ALTER COLUMN user_id TYPE text USING user_id::text;
ALTER TABLE user_passwords ADD FOREIGN KEY (tenant, user_id) REFERENCES users (tenant, id) ON DELETE CASCADE;
ALTER TABLE login_sessions ADD FOREIGN KEY (tenant, user_id) REFERENCES users (tenant, id) ON DELETE CASCADE;

-- Emporix's number of a back-office user.
ALTER TABLE users ADD COLUMN backoffice_user_number text NOT NULL DEFAULT '';

-- Emporix groups name the access controls and templates (iam-policies' ids) their members
-- get; kept here and published with the group, iam-policies derives assignments from them.
ALTER TABLE groups ADD COLUMN access_controls text[] NOT NULL DEFAULT '{}';
ALTER TABLE groups ADD COLUMN templates text[] NOT NULL DEFAULT '{}';

-- +goose Down
ALTER TABLE groups DROP COLUMN templates;
ALTER TABLE groups DROP COLUMN access_controls;
ALTER TABLE users DROP COLUMN backoffice_user_number;
