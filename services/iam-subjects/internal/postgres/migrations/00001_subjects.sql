-- +goose Up
-- Trigram indexes make `searchQuery` (a substring anywhere in a name, username or email)
-- an index scan even with a million users in a tenant.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- Event versions of every entity this service publishes come from one sequence, taken
-- under the entity's row lock: they grow in commit order per entity, and a group
-- re-created with the id of a deleted one still outranks the old tombstone.
CREATE SEQUENCE entity_version_seq;

CREATE TABLE users (
    tenant             text NOT NULL,
    id                 uuid NOT NULL,
    user_type          text NOT NULL CHECK (user_type IN ('EMPLOYEE', 'CUSTOMER')),
    username           text,
    email              text,
    phone_number       text NOT NULL DEFAULT '',
    first_name         text NOT NULL DEFAULT '',
    last_name          text NOT NULL DEFAULT '',
    contact_email      text NOT NULL DEFAULT '',
    preferred_site     text NOT NULL DEFAULT '',
    preferred_currency text NOT NULL DEFAULT '',
    preferred_language text NOT NULL DEFAULT '',
    department         text NOT NULL DEFAULT '',
    status             text NOT NULL DEFAULT 'ACTIVE',
    valid_from         timestamptz,
    is_account_locked  boolean NOT NULL DEFAULT false,
    version            bigint NOT NULL,
    created_at         timestamptz NOT NULL,
    modified_at        timestamptz NOT NULL,
    PRIMARY KEY (tenant, id)
);
CREATE UNIQUE INDEX users_username ON users (tenant, lower(username)) WHERE username IS NOT NULL;
CREATE UNIQUE INDEX users_email ON users (tenant, lower(email)) WHERE email IS NOT NULL;

CREATE TABLE groups (
    tenant          text NOT NULL,
    id              text NOT NULL,
    display_name    text NOT NULL,
    name            jsonb NOT NULL DEFAULT '{}',
    description     jsonb NOT NULL DEFAULT '{}',
    code            text NOT NULL DEFAULT '',
    user_type       text NOT NULL DEFAULT '',
    legal_entity_id text NOT NULL DEFAULT '',
    version         bigint NOT NULL,
    created_at      timestamptz NOT NULL,
    modified_at     timestamptz NOT NULL,
    PRIMARY KEY (tenant, id)
);

-- Direct memberships. Members are users, client subjects or groups.
CREATE TABLE memberships (
    tenant      text NOT NULL,
    group_id    text NOT NULL,
    member_type text NOT NULL CHECK (member_type IN ('User', 'Client', 'Group')),
    member_id   text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant, group_id, member_type, member_id),
    FOREIGN KEY (tenant, group_id) REFERENCES groups (tenant, id) ON DELETE CASCADE
);
CREATE INDEX memberships_member ON memberships (tenant, member_type, member_id);

-- The transitive closure of group nesting, kept incrementally: (ancestor, descendant)
-- with the number of distinct paths between them, so removing one edge of a diamond keeps
-- the pairs another path still connects. Every group has its (g, g) row.
CREATE TABLE group_closure (
    tenant     text NOT NULL,
    ancestor   text NOT NULL,
    descendant text NOT NULL,
    paths      bigint NOT NULL,
    PRIMARY KEY (tenant, ancestor, descendant)
);
CREATE INDEX group_closure_descendant ON group_closure (tenant, descendant, ancestor);

-- One row per subject of every type: the table `GET /subjects` searches. Users and groups
-- write it in the same transaction as their own rows; client subjects come from
-- oauth-clients' events.
CREATE TABLE subjects (
    tenant       text NOT NULL,
    type         text NOT NULL CHECK (type IN ('User', 'Client', 'Group')),
    id           text NOT NULL,
    display_name text NOT NULL,
    username     text NOT NULL DEFAULT '',
    email        text NOT NULL DEFAULT '',
    phone_number text NOT NULL DEFAULT '',
    icon_uri     text NOT NULL DEFAULT '',
    description  text NOT NULL DEFAULT '',
    search       text NOT NULL, -- lower-cased display name, username and email (ids match exactly)
    PRIMARY KEY (tenant, type, id)
);
CREATE INDEX subjects_by_name ON subjects (tenant, lower(display_name), type, id);
CREATE INDEX subjects_by_type_name ON subjects (tenant, type, lower(display_name), id);
CREATE INDEX subjects_search ON subjects USING gin (search gin_trgm_ops);
-- A search also matches an exact id, whatever the type.
CREATE INDEX subjects_by_id ON subjects (tenant, id);

-- +goose Down
DROP TABLE subjects;
DROP TABLE group_closure;
DROP TABLE memberships;
DROP TABLE groups;
DROP TABLE users;
DROP SEQUENCE entity_version_seq;
