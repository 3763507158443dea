-- +goose Up
-- The OAuth scopes each user or client subject is entitled to through its effective access,
-- kept from iam-policies' scope-set events. A token may carry them in addition to the
-- client's registered scopes.
CREATE TABLE entitled_scopes (
    tenant  text NOT NULL,
    subject text NOT NULL, -- client-<id> or user-<id>
    scopes  text[] NOT NULL,
    PRIMARY KEY (tenant, subject)
);

-- +goose Down
DROP TABLE entitled_scopes;
