-- +goose Up
-- Which policies oauth-clients' scope definitions name (userPolicyId, developerPolicyId),
-- kept from scope-definition events, so a referenced policy is not revoked from under them.
CREATE TABLE scope_policy_refs (
    tenant    text NOT NULL,
    scope     text NOT NULL,
    policy_id text NOT NULL,
    PRIMARY KEY (tenant, scope, policy_id)
);
CREATE INDEX scope_policy_refs_policy ON scope_policy_refs (tenant, policy_id);

-- +goose Down
DROP TABLE scope_policy_refs;
