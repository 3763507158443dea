-- +goose Up
CREATE TABLE clients (
    tenant      text NOT NULL,
    id          text NOT NULL,
    name        text NOT NULL,
    description text NOT NULL DEFAULT '',
    -- The RFC 7591 metadata beyond name and description, as the domain type holds it.
    metadata    jsonb NOT NULL,
    system      boolean NOT NULL DEFAULT false,
    version     bigint NOT NULL,
    created_by  text NOT NULL DEFAULT '',
    updated_by  text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    PRIMARY KEY (tenant, id)
);
CREATE INDEX clients_tenant_created ON clients (tenant, created_at DESC, id);

CREATE TABLE client_secrets (
    tenant      text NOT NULL,
    client_id   text NOT NULL,
    id          text NOT NULL,
    hash        text NOT NULL,   -- $sha256$... for generated secrets, $argon2id$... for chosen ones
    hint        text NOT NULL,
    description text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz,
    PRIMARY KEY (tenant, client_id, id),
    FOREIGN KEY (tenant, client_id) REFERENCES clients (tenant, id) ON DELETE CASCADE
);

-- Token signing keys, shared by all tenants. The newest unretired key signs; retired keys
-- stay published until every token they signed has expired.
CREATE TABLE signing_keys (
    kid         text PRIMARY KEY,
    alg         text NOT NULL,
    private_key bytea NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    retired_at  timestamptz
);

-- +goose Down
DROP TABLE signing_keys;
DROP TABLE client_secrets;
DROP TABLE clients;
