-- +goose Up
CREATE TABLE policies (
    tenant            text NOT NULL,
    id                uuid NOT NULL,
    subject           text NOT NULL,
    scope             text NOT NULL,
    action            text NOT NULL,
    resource_type     text NOT NULL DEFAULT '',
    resource_provider text NOT NULL DEFAULT '',
    created_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant, id),
    UNIQUE (tenant, subject, scope, action)
);
-- A check looks up (action, covering path, principal): one index probe per path.
CREATE INDEX policies_check ON policies (tenant, action, scope, subject);

CREATE TABLE tenant_roles (
    tenant  text NOT NULL,
    subject text NOT NULL,
    roles   text[] NOT NULL,
    PRIMARY KEY (tenant, subject)
);

-- Views kept from iam-subjects' and oauth-clients' events; never written by the API.
CREATE TABLE subject_view (
    tenant       text NOT NULL,
    subject      text NOT NULL, -- user-<id>, client-<id>, group-<id>
    display_name text NOT NULL,
    PRIMARY KEY (tenant, subject)
);
CREATE TABLE membership_view (
    tenant   text NOT NULL,
    group_id text NOT NULL,
    member   text NOT NULL, -- a subject id
    PRIMARY KEY (tenant, group_id, member)
);
CREATE INDEX membership_view_member ON membership_view (tenant, member, group_id);
-- The closure of group nesting (group ids without the group- prefix), kept by pkg/closure.
CREATE TABLE group_closure (
    tenant     text NOT NULL,
    ancestor   text NOT NULL,
    descendant text NOT NULL,
    paths      bigint NOT NULL,
    PRIMARY KEY (tenant, ancestor, descendant)
);
CREATE INDEX group_closure_descendant ON group_closure (tenant, descendant, ancestor);

-- The last scope set published per subject, to publish only changes.
CREATE SEQUENCE entity_version_seq;
CREATE TABLE entitled_scopes (
    tenant  text NOT NULL,
    subject text NOT NULL,
    scopes  text[] NOT NULL,
    PRIMARY KEY (tenant, subject)
);

-- +goose Down
DROP TABLE entitled_scopes;
DROP SEQUENCE entity_version_seq;
DROP TABLE group_closure;
DROP TABLE membership_view;
DROP TABLE subject_view;
DROP TABLE tenant_roles;
DROP TABLE policies;
