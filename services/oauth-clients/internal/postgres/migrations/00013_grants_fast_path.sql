-- +goose Up
-- A token family becomes one row that a refresh updates in place: its refresh token's
-- current generation and hash (the token names its family and generation, so an earlier
-- generation presented again is reuse), and the unexpired access tokens it issued, which
-- revoking the family revokes. A refresh used to retire one refresh_tokens row, insert
-- another and an access-token row, and update the family; now it updates one row, mostly
-- without touching an index. Refresh tokens issued before this migration name no family
-- and are no longer accepted: their people sign in again. Their families' access tokens
-- are carried over, so revoking a family still revokes them.
ALTER TABLE token_families
    ADD COLUMN refresh_generation integer NOT NULL DEFAULT 0,
    ADD COLUMN refresh_hash text NOT NULL DEFAULT '',          -- '' when the family has no usable refresh token
    ADD COLUMN refresh_expires_at timestamptz NOT NULL DEFAULT '-infinity',
    ADD COLUMN access_tokens jsonb NOT NULL DEFAULT '[]';      -- [{jti, exp (Unix seconds)}], unexpired ones
UPDATE token_families f SET access_tokens = coalesce((
    SELECT jsonb_agg(jsonb_build_object('jti', a.jti, 'exp', floor(extract(epoch FROM a.expires_at))::bigint) ORDER BY a.jti)
    FROM family_access_tokens a WHERE a.tenant = f.tenant AND a.family_id = f.id AND a.expires_at > now()), '[]');
DROP TABLE refresh_tokens;
DROP TABLE family_access_tokens;
-- Codes and families are updated after their insert (a code once, a family at every
-- refresh): room on each page keeps those updates on the page (HOT).
ALTER TABLE authorization_codes SET (fillfactor = 80);
ALTER TABLE token_families SET (fillfactor = 70);

-- +goose Down
ALTER TABLE authorization_codes RESET (fillfactor);
ALTER TABLE token_families RESET (fillfactor);
CREATE TABLE refresh_tokens (
    tenant     text NOT NULL,
    token_hash text NOT NULL,
    family_id  text NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz,
    PRIMARY KEY (tenant, token_hash),
    FOREIGN KEY (tenant, family_id) REFERENCES token_families (tenant, id) ON DELETE CASCADE
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (tenant, family_id);
CREATE TABLE family_access_tokens (
    tenant     text NOT NULL,
    family_id  text NOT NULL,
    jti        text NOT NULL,
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (tenant, family_id, jti),
    FOREIGN KEY (tenant, family_id) REFERENCES token_families (tenant, id) ON DELETE CASCADE
);
INSERT INTO family_access_tokens (tenant, family_id, jti, expires_at)
    SELECT f.tenant, f.id, a->>'jti', to_timestamp((a->>'exp')::bigint)
    FROM token_families f, jsonb_array_elements(f.access_tokens) a;
ALTER TABLE token_families DROP COLUMN refresh_generation, DROP COLUMN refresh_hash,
    DROP COLUMN refresh_expires_at, DROP COLUMN access_tokens;
