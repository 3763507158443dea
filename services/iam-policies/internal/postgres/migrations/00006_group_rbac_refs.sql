-- +goose Up
-- Emporix groups name the access controls and templates their members get
-- (group.accessControls, group.templates, owned by iam-subjects and published in its group
-- events). The newest event's sets are kept here; the group's assignments marked
-- from_group are derived from them: one per named access control or template that exists,
-- added when either side arrives first, removed when the group stops naming it.
CREATE TABLE group_rbac_refs (
    tenant            text NOT NULL,
    subject           text NOT NULL,            -- group-<id>
    access_control_id text NOT NULL DEFAULT '', -- one of the two is set
    template_id       text NOT NULL DEFAULT '',
    PRIMARY KEY (tenant, subject, access_control_id, template_id)
);
CREATE INDEX group_rbac_refs_access_control ON group_rbac_refs (tenant, access_control_id) WHERE access_control_id <> '';
CREATE INDEX group_rbac_refs_template ON group_rbac_refs (tenant, template_id) WHERE template_id <> '';
ALTER TABLE rbac_assignments ADD COLUMN from_group boolean NOT NULL DEFAULT false;

-- +goose Down
ALTER TABLE rbac_assignments DROP COLUMN from_group;
DROP TABLE group_rbac_refs;
