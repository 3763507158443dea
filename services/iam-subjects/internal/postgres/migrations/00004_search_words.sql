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

-- The word rows follow each subject row, whichever path writes it (users, groups, client
-- subjects from events, bulk loads).
-- +goose StatementBegin
CREATE FUNCTION subject_words_put(sub_tenant text, sub_type text, sub_id text, sub_sort_name text, sub_search text) RETURNS void
LANGUAGE sql AS $$
    -- Sorted, so two writers adding the same new words take them in one order.
    INSERT INTO search_vocabulary (tenant, word)
    SELECT DISTINCT sub_tenant, t.word FROM search_words(sub_search) t ORDER BY 2 ON CONFLICT DO NOTHING;
    INSERT INTO subject_words (tenant, word, sort_name, type, id)
    SELECT DISTINCT sub_tenant, t.word, sub_sort_name, sub_type, sub_id FROM search_words(sub_search) t ON CONFLICT DO NOTHING;
    INSERT INTO subject_word_pairs (tenant, word, next, sort_name, type, id)
    SELECT DISTINCT sub_tenant, t.word, t.next, sub_sort_name, sub_type, sub_id FROM search_words(sub_search) t
    WHERE t.next <> '' ON CONFLICT DO NOTHING;
$$;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE FUNCTION subject_words_drop(sub_tenant text, sub_type text, sub_id text, sub_sort_name text, sub_search text) RETURNS void
LANGUAGE sql AS $$
    DELETE FROM subject_words w USING search_words(sub_search) t
    WHERE (w.tenant, w.word, w.sort_name, w.type, w.id) = (sub_tenant, t.word, sub_sort_name, sub_type, sub_id);
    DELETE FROM subject_word_pairs p USING search_words(sub_search) t
    WHERE (p.tenant, p.word, p.next, p.sort_name, p.type, p.id) = (sub_tenant, t.word, t.next, sub_sort_name, sub_type, sub_id);
$$;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE FUNCTION subject_words_follow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM subject_words_drop(OLD.tenant, OLD.type, OLD.id, OLD.sort_name, OLD.search);
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        PERFORM subject_words_put(NEW.tenant, NEW.type, NEW.id, NEW.sort_name, NEW.search);
    END IF;
    RETURN NULL;
END $$;
-- +goose StatementEnd
CREATE TRIGGER subject_words_follow_insert AFTER INSERT OR DELETE ON subjects
    FOR EACH ROW EXECUTE FUNCTION subject_words_follow();
-- Most updates leave the name and search text alone (a phone number, an icon).
CREATE TRIGGER subject_words_follow_update AFTER UPDATE ON subjects FOR EACH ROW
    WHEN ((OLD.search, OLD.sort_name) IS DISTINCT FROM (NEW.search, NEW.sort_name)) EXECUTE FUNCTION subject_words_follow();

INSERT INTO search_vocabulary (tenant, word)
SELECT DISTINCT s.tenant, t.word FROM subjects s, search_words(s.search) t;
INSERT INTO subject_words (tenant, word, sort_name, type, id)
SELECT DISTINCT s.tenant, t.word, s.sort_name, s.type, s.id FROM subjects s, search_words(s.search) t;
INSERT INTO subject_word_pairs (tenant, word, next, sort_name, type, id)
SELECT DISTINCT s.tenant, t.word, t.next, s.sort_name, s.type, s.id FROM subjects s, search_words(s.search) t WHERE t.next <> '';

-- +goose Down
DROP TRIGGER subject_words_follow_update ON subjects;
DROP TRIGGER subject_words_follow_insert ON subjects;
DROP FUNCTION subject_words_follow();
DROP FUNCTION subject_words_drop(text, text, text, text, text);
DROP FUNCTION subject_words_put(text, text, text, text, text);
DROP FUNCTION search_words(text);
DROP STATISTICS search_vocabulary_trigrams;
DROP STATISTICS subjects_search_trigrams;
DROP TABLE subject_word_pairs;
DROP TABLE search_vocabulary;
DROP TABLE subject_words;
