-- +goose Up
-- Emporix-style RBAC. Every reference is a foreign key, so nothing can point at a row
-- that is gone; the repository names the referrers before a delete would trip one.
CREATE TABLE rbac_resources (
    tenant      text NOT NULL,
    id          text NOT NULL,
    code        text NOT NULL,
    name        jsonb NOT NULL,
    description jsonb NOT NULL DEFAULT '{}',
    version     bigint NOT NULL,
    created_at  timestamptz NOT NULL,
    modified_at timestamptz NOT NULL,
    PRIMARY KEY (tenant, id),
    CONSTRAINT rbac_resources_code UNIQUE (tenant, code)
);

CREATE TABLE rbac_permissions (
    tenant      text NOT NULL,
    id          text NOT NULL,
    code        text NOT NULL,
    name        jsonb NOT NULL,
    description jsonb NOT NULL DEFAULT '{}',
    version     bigint NOT NULL,
    created_at  timestamptz NOT NULL,
    modified_at timestamptz NOT NULL,
    PRIMARY KEY (tenant, id)
);
-- A permission's applicableResources.
CREATE TABLE rbac_permission_resources (
    tenant        text NOT NULL,
    permission_id text NOT NULL,
    resource_id   text NOT NULL,
    position      int NOT NULL,
    PRIMARY KEY (tenant, permission_id, resource_id),
    FOREIGN KEY (tenant, permission_id) REFERENCES rbac_permissions ON DELETE CASCADE,
    FOREIGN KEY (tenant, resource_id) REFERENCES rbac_resources
);
CREATE INDEX rbac_permission_resources_resource ON rbac_permission_resources (tenant, resource_id);

CREATE TABLE rbac_roles (
    tenant      text NOT NULL,
    id          text NOT NULL,
    name        jsonb NOT NULL,
    description jsonb NOT NULL DEFAULT '{}',
    version     bigint NOT NULL,
    created_at  timestamptz NOT NULL,
    modified_at timestamptz NOT NULL,
    PRIMARY KEY (tenant, id)
);
CREATE TABLE rbac_role_permissions (
    tenant        text NOT NULL,
    role_id       text NOT NULL,
    permission_id text NOT NULL,
    position      int NOT NULL,
    PRIMARY KEY (tenant, role_id, permission_id),
    FOREIGN KEY (tenant, role_id) REFERENCES rbac_roles ON DELETE CASCADE,
    FOREIGN KEY (tenant, permission_id) REFERENCES rbac_permissions
);
CREATE INDEX rbac_role_permissions_permission ON rbac_role_permissions (tenant, permission_id);
-- A role permission's applicablePermissionResources: none means all the permission's
-- applicableResources. The second key makes "a subset of applicableResources" a database
-- rule too.
CREATE TABLE rbac_role_permission_resources (
    tenant        text NOT NULL,
    role_id       text NOT NULL,
    permission_id text NOT NULL,
    resource_id   text NOT NULL,
    position      int NOT NULL,
    PRIMARY KEY (tenant, role_id, permission_id, resource_id),
    FOREIGN KEY (tenant, role_id, permission_id) REFERENCES rbac_role_permissions ON DELETE CASCADE,
    FOREIGN KEY (tenant, permission_id, resource_id) REFERENCES rbac_permission_resources
);
CREATE INDEX rbac_role_permission_resources_pr ON rbac_role_permission_resources (tenant, permission_id, resource_id);

CREATE TABLE rbac_access_controls (
    tenant      text NOT NULL,
    id          text NOT NULL,
    role_id     text NOT NULL,
    resource_id text NOT NULL,
    name        jsonb NOT NULL,
    description jsonb NOT NULL DEFAULT '{}',
    version     bigint NOT NULL,
    created_at  timestamptz NOT NULL,
    modified_at timestamptz NOT NULL,
    PRIMARY KEY (tenant, id),
    FOREIGN KEY (tenant, role_id) REFERENCES rbac_roles,
    FOREIGN KEY (tenant, resource_id) REFERENCES rbac_resources
);
CREATE INDEX rbac_access_controls_role ON rbac_access_controls (tenant, role_id);
CREATE INDEX rbac_access_controls_resource ON rbac_access_controls (tenant, resource_id);

CREATE TABLE rbac_templates (
    tenant      text NOT NULL,
    id          text NOT NULL,
    name        jsonb NOT NULL,
    description jsonb NOT NULL DEFAULT '{}',
    version     bigint NOT NULL,
    created_at  timestamptz NOT NULL,
    modified_at timestamptz NOT NULL,
    PRIMARY KEY (tenant, id)
);
CREATE TABLE rbac_template_access_controls (
    tenant            text NOT NULL,
    template_id       text NOT NULL,
    access_control_id text NOT NULL,
    position          int NOT NULL,
    PRIMARY KEY (tenant, template_id, access_control_id),
    FOREIGN KEY (tenant, template_id) REFERENCES rbac_templates ON DELETE CASCADE,
    FOREIGN KEY (tenant, access_control_id) REFERENCES rbac_access_controls
);
CREATE INDEX rbac_template_access_controls_ac ON rbac_template_access_controls (tenant, access_control_id);

-- An access control or a template assigned to a user, client or group.
CREATE TABLE rbac_assignments (
    tenant            text NOT NULL,
    id                text NOT NULL,
    subject           text NOT NULL,
    access_control_id text,
    template_id       text,
    created_at        timestamptz NOT NULL,
    PRIMARY KEY (tenant, id),
    FOREIGN KEY (tenant, access_control_id) REFERENCES rbac_access_controls,
    FOREIGN KEY (tenant, template_id) REFERENCES rbac_templates,
    CHECK ((access_control_id IS NULL) <> (template_id IS NULL))
);
CREATE UNIQUE INDEX rbac_assignments_unique ON rbac_assignments (tenant, subject, coalesce(access_control_id, ''), coalesce(template_id, ''));
CREATE INDEX rbac_assignments_access_control ON rbac_assignments (tenant, access_control_id) WHERE access_control_id IS NOT NULL;
CREATE INDEX rbac_assignments_template ON rbac_assignments (tenant, template_id) WHERE template_id IS NOT NULL;

-- The scopes each access control gives: <resource code>_<permission code> for every
-- permission of its role that applies to its resource (and, when the role narrows the
-- permission, is among the role's resources for it).
CREATE VIEW rbac_access_control_scopes AS
SELECT ac.tenant, ac.id AS access_control_id, pm.id AS permission_id, r.code || '_' || pm.code AS scope
FROM rbac_access_controls ac
JOIN rbac_resources r ON r.tenant = ac.tenant AND r.id = ac.resource_id
JOIN rbac_role_permissions rp ON rp.tenant = ac.tenant AND rp.role_id = ac.role_id
JOIN rbac_permission_resources pr ON pr.tenant = ac.tenant AND pr.permission_id = rp.permission_id AND pr.resource_id = ac.resource_id
JOIN rbac_permissions pm ON pm.tenant = ac.tenant AND pm.id = rp.permission_id
WHERE NOT EXISTS (SELECT 1 FROM rbac_role_permission_resources x
                  WHERE x.tenant = rp.tenant AND x.role_id = rp.role_id AND x.permission_id = rp.permission_id)
   OR EXISTS (SELECT 1 FROM rbac_role_permission_resources x
              WHERE x.tenant = rp.tenant AND x.role_id = rp.role_id AND x.permission_id = rp.permission_id
                AND x.resource_id = ac.resource_id);

-- +goose Down
DROP VIEW rbac_access_control_scopes;
DROP TABLE rbac_assignments;
DROP TABLE rbac_template_access_controls;
DROP TABLE rbac_templates;
DROP TABLE rbac_access_controls;
DROP TABLE rbac_role_permission_resources;
DROP TABLE rbac_role_permissions;
DROP TABLE rbac_roles;
DROP TABLE rbac_permission_resources;
DROP TABLE rbac_permissions;
DROP TABLE rbac_resources;
