-- +goose Up
-- Consents and consent actions keep the id a caller chooses on import (a Cloudentity
-- migration keeps ids such as "1"; consents.IDRule), so ids are text; a generated id is
-- still a UUID, now in its text form.
ALTER TABLE grants DROP CONSTRAINT grants_tenant_consent_id_fkey;
ALTER TABLE consents ALTER COLUMN id TYPE text;
ALTER TABLE grants ALTER COLUMN consent_id TYPE text;
ALTER TABLE grants ADD CONSTRAINT grants_tenant_consent_id_fkey
    FOREIGN KEY (tenant, consent_id) REFERENCES consents (tenant, id) ON DELETE CASCADE;
ALTER TABLE privacy_ledger ALTER COLUMN consent_id TYPE text;
ALTER TABLE consent_actions ALTER COLUMN id TYPE text;
-- What a consent's last change asked of existing grants (Cloudentity gives it back).
ALTER TABLE consents ADD COLUMN update_existing_grants text NOT NULL DEFAULT 'explicitAll';

-- +goose Down
ALTER TABLE consents DROP COLUMN update_existing_grants;
ALTER TABLE consent_actions ALTER COLUMN id TYPE uuid USING id::uuid;
ALTER TABLE privacy_ledger ALTER COLUMN consent_id TYPE uuid USING consent_id::uuid;
ALTER TABLE grants DROP CONSTRAINT grants_tenant_consent_id_fkey;
ALTER TABLE grants ALTER COLUMN consent_id TYPE uuid USING consent_id::uuid;
ALTER TABLE consents ALTER COLUMN id TYPE uuid USING id::uuid;
ALTER TABLE grants ADD CONSTRAINT grants_tenant_consent_id_fkey
    FOREIGN KEY (tenant, consent_id) REFERENCES consents (tenant, id) ON DELETE CASCADE;
