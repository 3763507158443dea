-- +goose Up
-- People sign in (issue 15): passwords, login sessions, used sign-in challenges and the
-- keys that sign login verdicts. None of it is ever published: password hashes and
-- sessions never leave this service.

-- An administrator says whether a user's email is known to be theirs (OIDC email_verified).
ALTER TABLE users ADD COLUMN email_verified boolean NOT NULL DEFAULT false;

-- A user's password as an argon2id PHC string. A table of its own, so that no query of
-- users can return a hash by accident.
CREATE TABLE user_passwords (
    tenant     text NOT NULL,
    user_id    uuid NOT NULL,
    hash       text NOT NULL,
    changed_at timestamptz NOT NULL,
    PRIMARY KEY (tenant, user_id),
    FOREIGN KEY (tenant, user_id) REFERENCES users (tenant, id) ON DELETE CASCADE
);

-- Login sessions, one per browser and tenant. token_hash is the SHA-256 of the cookie's
-- random token (the table gives no usable cookie); id is the public session id (sid).
-- Deleting a user ends its sessions with it.
CREATE TABLE login_sessions (
    token_hash bytea PRIMARY KEY,
    tenant     text NOT NULL,
    id         text NOT NULL,
    user_id    uuid NOT NULL,
    auth_time  timestamptz NOT NULL,
    amr        text[] NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    FOREIGN KEY (tenant, user_id) REFERENCES users (tenant, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX login_sessions_id ON login_sessions (tenant, id);
CREATE INDEX login_sessions_user ON login_sessions (tenant, user_id);
CREATE INDEX login_sessions_expiry ON login_sessions (expires_at);

-- Sign-in challenges used, kept until they have expired (handshake.Open refuses them
-- after that anyway), so each works once.
CREATE TABLE used_challenges (
    tenant     text NOT NULL,
    kind       text NOT NULL CHECK (kind IN ('login', 'logout')),
    id         text NOT NULL,
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (tenant, kind, id)
);
CREATE INDEX used_challenges_expiry ON used_challenges (expires_at);

-- The keys that sign login verdicts (pkg/keyring), shared by all tenants; the same table
-- as oauth-clients' signing_keys.
CREATE TABLE signing_keys (
    kid         text PRIMARY KEY,
    alg         text NOT NULL,
    private_key bytea NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    retired_at  timestamptz
);

-- +goose Down
DROP TABLE signing_keys;
DROP TABLE used_challenges;
DROP TABLE login_sessions;
DROP TABLE user_passwords;
ALTER TABLE users DROP COLUMN email_verified;
