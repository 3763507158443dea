-- +goose Up
CREATE TABLE consents (
    tenant           text NOT NULL,
    id               uuid NOT NULL,
    name             text NOT NULL,
    description      text NOT NULL DEFAULT '',
    can_be_withdrawn boolean NOT NULL,
    pii_categories   text[] NOT NULL DEFAULT '{}',
    valid_from       timestamptz,
    services         jsonb NOT NULL DEFAULT '[]',
    version          bigint NOT NULL,
    created_at       timestamptz NOT NULL,
    modified_at      timestamptz NOT NULL,
    PRIMARY KEY (tenant, id),
    CONSTRAINT consents_name_key UNIQUE (tenant, name)
);

-- Live grants: what each subject agreed to, at which version.
CREATE TABLE grants (
    tenant          text NOT NULL,
    subject         text NOT NULL,
    consent_id      uuid NOT NULL,
    granted_version bigint NOT NULL,
    grant_type      text NOT NULL CHECK (grant_type IN ('explicit', 'implicit')),
    granted_at      timestamptz NOT NULL,
    PRIMARY KEY (tenant, subject, consent_id),
    FOREIGN KEY (tenant, consent_id) REFERENCES consents (tenant, id) ON DELETE CASCADE
);
CREATE INDEX grants_consent ON grants (tenant, consent_id);

-- The privacy ledger: append-only, one hash chain per tenant. hash = sha256(prev_hash ||
-- the event's canonical JSON); ledger_heads holds each chain's end and is locked by every
-- append, so appends are serialized per tenant and the chain has no forks.
CREATE TABLE privacy_ledger (
    tenant          text NOT NULL,
    seq             bigint NOT NULL,
    type            text NOT NULL,
    subject         text NOT NULL,
    consent_id      uuid,
    consent_version bigint,
    grant_type      text NOT NULL DEFAULT '',
    context         jsonb NOT NULL DEFAULT '{}',
    language        text NOT NULL DEFAULT '',
    action_id       text NOT NULL DEFAULT '',
    occurred_at     timestamptz NOT NULL,
    prev_hash       text NOT NULL,
    hash            text NOT NULL,
    PRIMARY KEY (tenant, seq)
);
-- One subject's events over a time range: an index range scan at any ledger size.
CREATE INDEX privacy_ledger_subject ON privacy_ledger (tenant, subject, occurred_at, seq);
CREATE TABLE ledger_heads (
    tenant text PRIMARY KEY,
    seq    bigint NOT NULL,
    hash   text NOT NULL
);

-- +goose Down
DROP TABLE ledger_heads;
DROP TABLE privacy_ledger;
DROP TABLE grants;
DROP TABLE consents;
