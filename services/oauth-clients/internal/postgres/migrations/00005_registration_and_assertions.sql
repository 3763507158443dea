-- +goose Up
-- SHA-256 of a dynamically registered client's RFC 7592 registration access token.
ALTER TABLE clients ADD COLUMN registration_token_hash text NOT NULL DEFAULT '';

-- jti values of private_key_jwt client assertions already used (RFC 7523 §3: single
-- use), kept until the assertion would have expired.
CREATE TABLE client_assertions (
    tenant      text NOT NULL,
    client_id   text NOT NULL,
    jti         text NOT NULL,
    expires_at  timestamptz NOT NULL,
    PRIMARY KEY (tenant, client_id, jti)
);
CREATE INDEX client_assertions_expires_at ON client_assertions (expires_at);

-- +goose Down
DROP TABLE client_assertions;
ALTER TABLE clients DROP COLUMN registration_token_hash;
