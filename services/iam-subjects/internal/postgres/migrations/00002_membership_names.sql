-- +goose Up
-- A group's members listed by name, a page at a time, without fetching every member: each
-- membership carries its member's sort key (the lower-cased display name), kept by every
-- write of the subject's row.
ALTER TABLE memberships ADD COLUMN sort_name text NOT NULL DEFAULT '';
UPDATE memberships m SET sort_name = lower(s.display_name) FROM subjects s
WHERE s.tenant = m.tenant AND s.type = m.member_type AND s.id = m.member_id;
CREATE INDEX memberships_by_name ON memberships (tenant, group_id, sort_name, member_type, member_id);

-- +goose Down
DROP INDEX memberships_by_name;
ALTER TABLE memberships DROP COLUMN sort_name;
