-- +goose Up
-- Consent challenges already answered: each is accepted once (its jti), recorded in the
-- transaction that records the person's choice. A row is kept until the challenge has
-- expired, after which the challenge is refused anyway, then pruned.
CREATE TABLE used_consent_challenges (
    tenant     text NOT NULL,
    id         text NOT NULL,
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (tenant, id)
);
CREATE INDEX used_consent_challenges_expiry ON used_consent_challenges (expires_at);

-- +goose Down
DROP TABLE used_consent_challenges;
