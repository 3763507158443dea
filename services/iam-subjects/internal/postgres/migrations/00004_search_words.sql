-- +goose Up
-- A search for one word (no spaces: `hansen`, `zofia`, `jsmith`) pages through its matches
-- in name order without visiting them all. Every whitespace-separated word of a subject's
-- search text is a row here, ordered by the subject's sort name; the words of a tenant
-- that contain the query come from the vocabulary (a trigram index over distinct words,
-- far fewer than subjects), and the first page of their lists merged is the first page of
-- the matches. Walking the name index instead costs as many entries as precede the first
-- match: a common first name sorting last ("zofia") walked 960,000 entries, 300 ms.
CREATE TABLE subject_words (
    tenant    text NOT NULL,
    word      text NOT NULL,
    sort_name text NOT NULL,
    type      text NOT NULL,
    id        text NOT NULL,
    PRIMARY KEY (tenant, word, sort_name, type, id)
);

-- Words are never removed from the vocabulary: removing one a subject no longer uses could
-- race a concurrent write that starts using it, and a search would then miss that subject.
-- A word nobody uses costs a search an empty index probe.
CREATE TABLE search_vocabulary (
    tenant text NOT NULL,
    word   text NOT NULL
);
-- Unique, and ordered by characters so that the words starting with a short text are a
-- range of it (`LIKE 'xu%'`); the trigram index finds words containing longer ones.
CREATE UNIQUE INDEX search_vocabulary_words ON search_vocabulary (tenant, word text_pattern_ops);
CREATE INDEX search_vocabulary_trigrams ON search_vocabulary USING gin (word gin_trgm_ops);

-- Trigram frequencies, kept by ANALYZE: a search asks the trigram indexes only for the
-- rare trigrams of its text (see trigrams.go), since intersecting a posting list every
-- row is on ("use" of user1, user2, ...) costs more than rechecking a few more rows.
CREATE STATISTICS subjects_search_trigrams ON (show_trgm(search)) FROM subjects;
CREATE STATISTICS search_vocabulary_trigrams ON (show_trgm(word)) FROM search_vocabulary;

-- The word rows follow the subject rows in every statement that writes them, whichever
-- path writes (users, groups, client subjects from events, bulk loads).
-- +goose StatementBegin
CREATE FUNCTION subject_words_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Sorted, so two writers adding the same new words take them in one order.
    INSERT INTO search_vocabulary (tenant, word)
    SELECT DISTINCT n.tenant, w FROM added n, regexp_split_to_table(n.search, '\s+') AS w WHERE w <> ''
    ORDER BY 1, 2 ON CONFLICT DO NOTHING;
    INSERT INTO subject_words (tenant, word, sort_name, type, id)
    SELECT DISTINCT n.tenant, w, n.sort_name, n.type, n.id FROM added n, regexp_split_to_table(n.search, '\s+') AS w WHERE w <> ''
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE FUNCTION subject_words_remove() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM subject_words sw USING (
        SELECT DISTINCT o.tenant, w AS word, o.sort_name, o.type, o.id FROM removed o, regexp_split_to_table(o.search, '\s+') AS w
    ) AS o
    WHERE (sw.tenant, sw.word, sw.sort_name, sw.type, sw.id) = (o.tenant, o.word, o.sort_name, o.type, o.id);
    RETURN NULL;
END $$;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE FUNCTION subject_words_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Most updates leave the name and search text alone (a phone number, an icon).
    DELETE FROM subject_words sw USING (
        SELECT DISTINCT o.tenant, w AS word, o.sort_name, o.type, o.id
        FROM removed o JOIN added n USING (tenant, type, id), regexp_split_to_table(o.search, '\s+') AS w
        WHERE (o.search, o.sort_name) IS DISTINCT FROM (n.search, n.sort_name)
    ) AS o
    WHERE (sw.tenant, sw.word, sw.sort_name, sw.type, sw.id) = (o.tenant, o.word, o.sort_name, o.type, o.id);
    INSERT INTO search_vocabulary (tenant, word)
    SELECT DISTINCT n.tenant, w FROM added n JOIN removed o USING (tenant, type, id), regexp_split_to_table(n.search, '\s+') AS w
    WHERE w <> '' AND (o.search, o.sort_name) IS DISTINCT FROM (n.search, n.sort_name)
    ORDER BY 1, 2 ON CONFLICT DO NOTHING;
    INSERT INTO subject_words (tenant, word, sort_name, type, id)
    SELECT DISTINCT n.tenant, w, n.sort_name, n.type, n.id
    FROM added n JOIN removed o USING (tenant, type, id), regexp_split_to_table(n.search, '\s+') AS w
    WHERE w <> '' AND (o.search, o.sort_name) IS DISTINCT FROM (n.search, n.sort_name)
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;
-- +goose StatementEnd
CREATE TRIGGER subject_words_insert AFTER INSERT ON subjects
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION subject_words_add();
CREATE TRIGGER subject_words_delete AFTER DELETE ON subjects
    REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION subject_words_remove();
CREATE TRIGGER subject_words_update AFTER UPDATE ON subjects
    REFERENCING OLD TABLE AS removed NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION subject_words_change();

INSERT INTO search_vocabulary (tenant, word)
SELECT DISTINCT s.tenant, w FROM subjects s, regexp_split_to_table(s.search, '\s+') AS w WHERE w <> '';
INSERT INTO subject_words (tenant, word, sort_name, type, id)
SELECT DISTINCT s.tenant, w, s.sort_name, s.type, s.id FROM subjects s, regexp_split_to_table(s.search, '\s+') AS w WHERE w <> '';

-- +goose Down
DROP TRIGGER subject_words_update ON subjects;
DROP TRIGGER subject_words_delete ON subjects;
DROP TRIGGER subject_words_insert ON subjects;
DROP FUNCTION subject_words_change();
DROP FUNCTION subject_words_remove();
DROP FUNCTION subject_words_add();
DROP STATISTICS search_vocabulary_trigrams;
DROP STATISTICS subjects_search_trigrams;
DROP TABLE search_vocabulary;
DROP TABLE subject_words;
