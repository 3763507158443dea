-- +goose Up
-- A search for one word (no spaces: `hansen`, `zofia`, `jsmith`) pages through its matches
-- in name order without visiting them all. Every word (space-separated) of a subject's
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

-- Two-word searches (`anna han`: a word ending with "anna", then one starting with "han")
-- are pairs of neighbouring words: a range of this index holds exactly their matches,
-- where trigrams, blind to word order, read every Anna with a "han" anywhere.
CREATE TABLE subject_word_pairs (
    tenant    text NOT NULL,
    word      text NOT NULL,
    next      text NOT NULL,
    sort_name text NOT NULL,
    type      text NOT NULL,
    id        text NOT NULL
);
CREATE UNIQUE INDEX subject_word_pairs_words ON subject_word_pairs (tenant, word, next text_pattern_ops, sort_name, type, id);

-- search_words are the words of a search text, each with the one after it ('' for the
-- last). The service writes search texts single-spaced.
-- +goose StatementBegin
CREATE FUNCTION search_words(search text) RETURNS TABLE (word text, next text) LANGUAGE sql IMMUTABLE AS $$
    SELECT w, coalesce(lead(w) OVER (ORDER BY n), '')
    FROM regexp_split_to_table(search, ' ') WITH ORDINALITY AS t(w, n) WHERE search <> ''
$$;
-- +goose StatementEnd

-- Search texts written before were joined with single spaces from fields that may hold
-- more, or other whitespace.
UPDATE subjects SET search = btrim(regexp_replace(search, '\s+', ' ', 'g')) WHERE search ~ '\s\s|[^ \S]|^\s|\s$';

-- The word rows follow the subject rows in every statement that writes them, whichever
-- path writes (users, groups, client subjects from events, bulk loads), set by set: an
-- update removes the old words and adds the new of rows whose name or text changed (most
-- change neither: a phone number, an icon). The statements name their rows by text
-- because transition tables are seen only by the trigger function's own queries.
-- +goose StatementBegin
CREATE FUNCTION subject_words_follow() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    changed constant text := '(SELECT %s.* FROM removed o JOIN added n USING (tenant, type, id)
        WHERE (o.search, o.sort_name) IS DISTINCT FROM (n.search, n.sort_name))';
    gone text := CASE TG_OP WHEN 'DELETE' THEN 'removed' WHEN 'UPDATE' THEN format(changed, 'o') END;
    came text := CASE TG_OP WHEN 'INSERT' THEN 'added' WHEN 'UPDATE' THEN format(changed, 'n') END;
BEGIN
    IF gone IS NOT NULL THEN
        EXECUTE format('DELETE FROM subject_words w USING %s o, search_words(o.search) t
            WHERE (w.tenant, w.word, w.sort_name, w.type, w.id) = (o.tenant, t.word, o.sort_name, o.type, o.id)', gone);
        EXECUTE format('DELETE FROM subject_word_pairs p USING %s o, search_words(o.search) t
            WHERE (p.tenant, p.word, p.next, p.sort_name, p.type, p.id) = (o.tenant, t.word, t.next, o.sort_name, o.type, o.id)', gone);
    END IF;
    IF came IS NOT NULL THEN
        -- Sorted, so two writers adding the same new words take them in one order.
        EXECUTE format('INSERT INTO search_vocabulary (tenant, word)
            SELECT DISTINCT n.tenant, t.word FROM %s n, search_words(n.search) t ORDER BY 1, 2 ON CONFLICT DO NOTHING', came);
        EXECUTE format('INSERT INTO subject_words (tenant, word, sort_name, type, id)
            SELECT DISTINCT n.tenant, t.word, n.sort_name, n.type, n.id FROM %s n, search_words(n.search) t ON CONFLICT DO NOTHING', came);
        EXECUTE format('INSERT INTO subject_word_pairs (tenant, word, next, sort_name, type, id)
            SELECT DISTINCT n.tenant, t.word, t.next, n.sort_name, n.type, n.id FROM %s n, search_words(n.search) t
            WHERE t.next <> '''' ON CONFLICT DO NOTHING', came);
    END IF;
    RETURN NULL;
END $$;
-- +goose StatementEnd
CREATE TRIGGER subject_words_insert AFTER INSERT ON subjects
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION subject_words_follow();
CREATE TRIGGER subject_words_delete AFTER DELETE ON subjects
    REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION subject_words_follow();
CREATE TRIGGER subject_words_update AFTER UPDATE ON subjects
    REFERENCING OLD TABLE AS removed NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION subject_words_follow();

INSERT INTO search_vocabulary (tenant, word)
SELECT DISTINCT s.tenant, t.word FROM subjects s, search_words(s.search) t;
INSERT INTO subject_words (tenant, word, sort_name, type, id)
SELECT DISTINCT s.tenant, t.word, s.sort_name, s.type, s.id FROM subjects s, search_words(s.search) t;
INSERT INTO subject_word_pairs (tenant, word, next, sort_name, type, id)
SELECT DISTINCT s.tenant, t.word, t.next, s.sort_name, s.type, s.id FROM subjects s, search_words(s.search) t WHERE t.next <> '';

-- +goose Down
DROP TRIGGER subject_words_update ON subjects;
DROP TRIGGER subject_words_delete ON subjects;
DROP TRIGGER subject_words_insert ON subjects;
DROP FUNCTION subject_words_follow();
DROP FUNCTION search_words(text);
DROP STATISTICS search_vocabulary_trigrams;
DROP STATISTICS subjects_search_trigrams;
DROP TABLE subject_word_pairs;
DROP TABLE search_vocabulary;
DROP TABLE subject_words;
