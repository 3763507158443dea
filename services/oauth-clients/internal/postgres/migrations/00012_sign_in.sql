-- +goose Up
-- People sign in: authorization requests on their way through the login and consent
-- pages, the codes they end in, the token families a code starts, and the view of users
-- that userinfo and refresh read.

-- An authorization request between the authorization endpoint and its code. It moves
-- login -> consent -> done (or ended, by an error verdict) exactly once each, by a
-- conditional UPDATE, and expires with the challenges (handshake.ChallengeTTL).
CREATE TABLE authorizations (
    tenant         text NOT NULL,
    id             text NOT NULL,             -- 128 random bits; the challenges' jti
    client_id      text NOT NULL,
    redirect_uri   text NOT NULL,
    scope          text NOT NULL,             -- requested ∩ the client's scopes
    state          text NOT NULL,
    nonce          text NOT NULL,
    code_challenge text NOT NULL,             -- PKCE S256
    prompt         text NOT NULL,
    max_age        bigint,                    -- seconds; NULL when the request had none
    login_hint     text NOT NULL,
    ui_locales     text NOT NULL,
    browser        text NOT NULL,             -- SHA-256 of the browser-binding cookie
    stage          text NOT NULL CHECK (stage IN ('login', 'consent', 'done', 'ended')),
    subject        text NOT NULL DEFAULT '',  -- from the login verdict
    auth_time      bigint NOT NULL DEFAULT 0,
    amr            text[] NOT NULL DEFAULT '{}',
    sid            text NOT NULL DEFAULT '',
    offered_scope  text NOT NULL DEFAULT '',  -- the consent challenge's scope
    created_at     timestamptz NOT NULL,
    expires_at     timestamptz NOT NULL,
    PRIMARY KEY (tenant, id)
);
CREATE INDEX authorizations_expiry ON authorizations (expires_at);

-- Authorization codes, by the SHA-256 of the code (the code itself is never stored),
-- bound to what the token endpoint checks. used_at and family_id record the exchange, so
-- that a second one revokes what the first issued.
CREATE TABLE authorization_codes (
    tenant         text NOT NULL,
    code_hash      text NOT NULL,
    client_id      text NOT NULL,
    redirect_uri   text NOT NULL,
    code_challenge text NOT NULL,
    nonce          text NOT NULL,
    scope          text NOT NULL,
    subject        text NOT NULL,
    auth_time      bigint NOT NULL,
    amr            text[] NOT NULL,
    sid            text NOT NULL,
    expires_at     timestamptz NOT NULL,
    used_at        timestamptz,
    family_id      text,
    PRIMARY KEY (tenant, code_hash)
);
CREATE INDEX authorization_codes_expiry ON authorization_codes (expires_at);

-- What one code's exchange started: its access tokens and its chain of refresh tokens
-- (RFC 9700 §4.14's refresh token family). Revoking it revokes all of them.
CREATE TABLE token_families (
    tenant     text NOT NULL,
    id         text NOT NULL,
    client_id  text NOT NULL,
    subject    text NOT NULL,              -- user-<id>
    sid        text NOT NULL,              -- the login session (logout revokes by it)
    scope      text NOT NULL,              -- granted at the code; refreshes narrow from it
    auth_time  bigint NOT NULL,
    amr        text[] NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,       -- when its last token expires; pruned after
    revoked_at timestamptz,
    PRIMARY KEY (tenant, id)
);
CREATE INDEX token_families_sid ON token_families (tenant, sid) WHERE sid <> '';
CREATE INDEX token_families_expiry ON token_families (expires_at);

-- Refresh tokens, by the SHA-256 of the token. A used one has been rotated: presenting
-- it again is reuse.
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

-- The access tokens (by jti) a family issued, until they expire: revoking the family
-- revokes them through the token revocations every service follows.
CREATE TABLE family_access_tokens (
    tenant     text NOT NULL,
    family_id  text NOT NULL,
    jti        text NOT NULL,
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (tenant, family_id, jti),
    FOREIGN KEY (tenant, family_id) REFERENCES token_families (tenant, id) ON DELETE CASCADE
);

-- The view of iam-subjects' users (iam.*.subjects.user.*): userinfo's claims and whether
-- a person may still get tokens. A deleted user stays as a row without personal data, so
-- a refresh can tell "deleted" from "not known yet".
CREATE TABLE users (
    tenant             text NOT NULL,
    subject            text NOT NULL,      -- user-<id>
    display_name       text NOT NULL DEFAULT '',
    username           text NOT NULL DEFAULT '',
    email              text NOT NULL DEFAULT '',
    email_verified     boolean NOT NULL DEFAULT false,
    first_name         text NOT NULL DEFAULT '',
    last_name          text NOT NULL DEFAULT '',
    phone_number       text NOT NULL DEFAULT '',
    preferred_language text NOT NULL DEFAULT '',
    locked             boolean NOT NULL DEFAULT false,
    deleted            boolean NOT NULL DEFAULT false,
    PRIMARY KEY (tenant, subject)
);

-- +goose Down
DROP TABLE users;
DROP TABLE family_access_tokens;
DROP TABLE refresh_tokens;
DROP TABLE token_families;
DROP TABLE authorization_codes;
DROP TABLE authorizations;
