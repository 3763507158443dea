-- +goose Up
-- The keys consent signs consent verdicts with (pkg/keyring), shared by every tenant and
-- replica; the same table as oauth-clients' token signing keys. The newest unretired key
-- signs; retired keys stay published until every verdict they signed has expired.
CREATE TABLE signing_keys (
    kid         text PRIMARY KEY,
    alg         text NOT NULL,
    private_key bytea NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    retired_at  timestamptz
);

-- +goose Down
DROP TABLE signing_keys;
