-- +goose Up
-- Access tokens revoked before their expiry (RFC 7009), kept until they would have
-- expired anyway, then pruned.
CREATE TABLE revoked_tokens (
    tenant      text NOT NULL,
    jti         text NOT NULL,
    client_id   text NOT NULL,
    expires_at  timestamptz NOT NULL,
    revoked_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant, jti)
);
CREATE INDEX revoked_tokens_expires_at ON revoked_tokens (expires_at);

-- +goose Down
DROP TABLE revoked_tokens;
