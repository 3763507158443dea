package postgres

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/iamplane/iam/pkg/postgres"

	"github.com/iamplane/iam/services/iam-subjects/internal/subjects"
)

// searchText is what a search looks in (or for): fields lower-cased, single-spaced, so
// that its words are what the word lists hold (search_words splits on single spaces).
func searchText(fields ...string) string {
	return strings.Join(strings.Fields(strings.ToLower(strings.Join(fields, " "))), " ")
}

// likeText is user text ready to sit between % signs: lower-cased like the search
// column, with LIKE's wildcards escaped.
func likeText(s string) string { return postgres.EscapeLike(strings.ToLower(strings.TrimSpace(s))) }

func stringArray(xs []string) pq.StringArray { return xs }

// fewMatches caps the total of a text search, and is where a text search stops sorting
// its matches and walks the name index instead. Few matches are fastest found through the
// trigram index and sorted, with an exact total; many are dense enough that walking names
// in order meets a page of them almost at once, and counting them all would cost more
// than the page (a broad search in a million-subject tenant), so their total is reported
// as fewMatches: "this many or more". Listings without text count exactly.
const fewMatches = 2000

// Search pages through subjects of every type by display name. A one-word text goes
// through the word lists (searchWords). Otherwise, or when the word is in too many words,
// the search first takes up to fewMatches+1 matches through the trigram index: when that
// is all of them, one statement yields both the sorted page and the exact total;
// otherwise the page comes from walking the name index from the first name a match could
// have (walkStart). What matches: see textMatch.
func (s *Directory) Search(ctx context.Context, tenant string, q subjects.Query) ([]subjects.Subject, int, error) {
	text := searchText(q.Search)
	if text == "" {
		return s.list(ctx, tenant, q)
	}
	words := s.wordLookup(ctx, tenant)
	if out, total, ok, err := s.searchWords(ctx, words, tenant, q, text); ok || err != nil {
		return out, total, err
	}
	if out, total, ok, err := s.searchPairs(ctx, words, tenant, q, text); ok || err != nil {
		return out, total, err
	}
	filter, filterArgs, dense := s.textMatch(ctx, "s.search", text, 4, fewMatches+1)
	where := `WHERE s.tenant = $1 AND ($2 = '' OR s.type = $2) AND (s.id = $3 OR ` + filter + `)`
	args := append([]any{tenant, string(q.Type), strings.TrimSpace(q.Search)}, filterArgs...)
	page, offset := append(slices.Clip(args), q.Limit, q.Offset), q.Offset
	var rows []subjectRow
	var total int
	// A bitmap of a dense text would hold every match before the first is taken.
	err := s.query(ctx, dense, func(q sqlx.QueryerContext) error {
		if err := sqlx.SelectContext(ctx, q, &rows, `WITH matches AS MATERIALIZED (SELECT * FROM subjects s `+where+` LIMIT `+fmt.Sprint(fewMatches+1)+`)
			SELECT `+subjectColumns+`, (SELECT count(*) FROM matches) AS total FROM matches s`+nameOrder(len(args)+1), page...); err != nil {
			return err
		}
		_, total = subjectsOf(rows)
		if len(rows) > 0 || offset == 0 {
			return nil
		}
		// Past the matches taken: count them apart.
		return sqlx.GetContext(ctx, q, &total, `SELECT count(*) FROM (SELECT 1 FROM subjects s `+where+` LIMIT `+fmt.Sprint(fewMatches+1)+`) AS m`, args...)
	})
	if err != nil {
		return nil, 0, postgres.Classify(err)
	}
	if total <= fewMatches {
		out, _ := subjectsOf(rows)
		return out, total, nil
	}
	// Many matches are dense: walking names in order, from the first name one could
	// have, meets a page of them at once.
	start, err := s.walkStart(ctx, words, tenant, q, text)
	if err != nil {
		return nil, 0, err
	}
	if start != nil {
		where += fmt.Sprintf(` AND s.sort_name >= $%d`, len(args)+1)
		args = append(args, *start)
		page = append(slices.Clip(args), q.Limit, q.Offset)
	}
	err = s.query(ctx, true, func(q sqlx.QueryerContext) error {
		return sqlx.SelectContext(ctx, q, &rows, walk(where, len(args)+1), page...)
	})
	if err != nil {
		return nil, 0, postgres.Classify(err)
	}
	out, _ := subjectsOf(rows)
	return out, fewMatches, nil
}

// textMatch is the condition for column holding text, in a query taking up to limit
// matches (see trigramFrequencies.textFilter), with parameters from $next. A word too
// short for a trigram (one or two characters) matches the start of a word instead of
// anywhere: no index can find "xu" inside words, and looking at every row costs a
// million-subject tenant 400 ms. Such texts are likely many: dense says so.
func (s *Directory) textMatch(ctx context.Context, column, text string, next, limit int) (filter string, args []any, dense bool) {
	if isShortWord(text) {
		return fmt.Sprintf("(%s LIKE $%d OR %s LIKE $%d)", column, next, column, next+1),
			[]any{likeText(text) + "%", "% " + likeText(text) + "%"}, true
	}
	filter, args, _ = s.trigrams.frequencies(ctx, s.DB, subjectTrigrams).textFilter(column, text, next, limit)
	return filter, args, false
}

// isShortWord: text (lower-cased, trimmed) is one word of fewer than three characters.
func isShortWord(text string) bool {
	return utf8.RuneCountInString(text) < 3 && !strings.Contains(text, " ")
}

// query runs fn, in a transaction planning without bitmap scans when noBitmaps: a walk
// in name order meets a page of many matches at once, but the planner cannot know that.
func (s *Directory) query(ctx context.Context, noBitmaps bool, fn func(sqlx.QueryerContext) error) error {
	if !noBitmaps {
		return postgres.Classify(fn(s.DB))
	}
	return postgres.InTx(ctx, s.DB, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, `SET LOCAL enable_bitmapscan = off`); err != nil {
			return err
		}
		return fn(tx)
	})
}

// nameOrder pages by name; $n is the limit, $n+1 the offset.
func nameOrder(n int) string {
	return fmt.Sprintf(` ORDER BY s.sort_name, s.type, s.id LIMIT $%d OFFSET $%d`, n, n+1)
}

// walk pages through the name index alone (it carries the search text), then reads the
// page's rows; $n is the limit, $n+1 the offset.
func walk(where string, n int) string {
	return `WITH page AS (SELECT s.type, s.id, s.sort_name FROM subjects s ` + where + nameOrder(n) + `)
		SELECT ` + subjectColumns + `, 0 AS total FROM page JOIN subjects s ON s.tenant = $1 AND s.type = page.type AND s.id = page.id
		ORDER BY page.sort_name, page.type, page.id`
}

// list pages through subjects without a text, counting them.
func (s *Directory) list(ctx context.Context, tenant string, q subjects.Query) ([]subjects.Subject, int, error) {
	const where = `WHERE s.tenant = $1 AND ($2 = '' OR s.type = $2)`
	var total int
	if err := s.DB.GetContext(ctx, &total, `SELECT count(*) FROM subjects s `+where, tenant, string(q.Type)); err != nil {
		return nil, 0, postgres.Classify(err)
	}
	var rows []subjectRow
	if err := s.DB.SelectContext(ctx, &rows, walk(where, 3), tenant, string(q.Type), q.Limit, q.Offset); err != nil {
		return nil, 0, postgres.Classify(err)
	}
	out, _ := subjectsOf(rows)
	return out, total, nil
}

// Bounds of the word lists' use: a text found in more words than maxWords, or a page
// deeper than maxWordsDepth, is cheaper found through the trigram index and name walk.
const (
	maxWords      = 32
	maxWordsDepth = 10_000
)

// searchWords answers a text without spaces from the word lists: the vocabulary words
// containing it, and each word's subjects in name order. A subject matches exactly when
// one of its words contains the text (or the text is its id), so the first offset+limit
// rows of each list merged are the page, and the lists' first fewMatches+1 rows, distinct,
// count the total up to that point. It declines (ok false) texts it cannot answer cheaply.
func (s *Directory) searchWords(ctx context.Context, containing wordLookup, tenant string, q subjects.Query, text string) (_ []subjects.Subject, total int, ok bool, _ error) {
	if strings.Contains(text, " ") || q.Offset+q.Limit > maxWordsDepth {
		return nil, 0, false, nil
	}
	words, ok, err := containing(text)
	if !ok || err != nil {
		return nil, 0, false, err
	}
	// hits are the lists' first rows (and the subject the text names by id).
	hits := func(columns, limit string) string {
		return `SELECT ` + columns + ` FROM unnest($3::text[]) AS v(word)
			CROSS JOIN LATERAL (SELECT sort_name, type, id FROM subject_words w
				WHERE w.tenant = $1 AND w.word = v.word AND ($2 = '' OR w.type = $2) ORDER BY sort_name, type, id LIMIT ` + limit + `) AS w
			UNION SELECT ` + columns + ` FROM subjects w WHERE w.tenant = $1 AND w.id = $4 AND ($2 = '' OR w.type = $2)`
	}
	args := []any{tenant, string(q.Type), stringArray(words), strings.TrimSpace(q.Search)}
	var rows []subjectRow
	if err := s.DB.SelectContext(ctx, &rows, `WITH hits AS (`+hits("w.sort_name, w.type, w.id", fmt.Sprintf("greatest($5::int + $6::int, %d)", fewMatches+1))+`),
		page AS (SELECT * FROM hits ORDER BY sort_name, type, id LIMIT $5 OFFSET $6)
		SELECT s.*, (SELECT count(*) FROM hits) AS total FROM page
		CROSS JOIN LATERAL (SELECT `+subjectColumns+` FROM subjects s
			WHERE s.tenant = $1 AND s.type = page.type AND s.id = page.id) AS s
		ORDER BY page.sort_name, page.type, page.id`, append(args, q.Limit, q.Offset)...); err != nil {
		return nil, 0, false, postgres.Classify(err)
	}
	out, total := subjectsOf(rows)
	if len(rows) == 0 && q.Offset > 0 { // past the end: count apart
		if err := s.DB.GetContext(ctx, &total, `SELECT count(*) FROM (`+hits("w.type, w.id", fmt.Sprint(fewMatches+1))+`) AS hits`, args...); err != nil {
			return nil, 0, false, postgres.Classify(err)
		}
	}
	return out, min(total, fewMatches), true, nil
}

// searchPairs answers a text of two words from the pairs of neighbouring words: a word
// ending with the first (vocabulary words containing it, at most maxWords) followed by
// one starting with the second. Up to fewMatches of them are sorted, with an exact total;
// it declines (ok false) more, and texts it cannot look up.
func (s *Directory) searchPairs(ctx context.Context, containing wordLookup, tenant string, q subjects.Query, text string) (_ []subjects.Subject, total int, ok bool, _ error) {
	first, second, two := strings.Cut(text, " ")
	if !two || strings.Contains(second, " ") || isShortWord(first) {
		return nil, 0, false, nil
	}
	found, ok, err := containing(first)
	if !ok || err != nil {
		return nil, 0, false, err
	}
	var words []string
	for _, w := range found {
		if strings.HasSuffix(w, first) {
			words = append(words, w)
		}
	}
	// hits are the pairs' subjects (and the subject the text names by id), fewMatches+1
	// rows at most, a subject more than once when two of its pairs match.
	const hits = `SELECT p.sort_name, p.type, p.id FROM unnest($3::text[]) AS v(word)
		CROSS JOIN LATERAL (SELECT sort_name, type, id FROM subject_word_pairs p
			WHERE p.tenant = $1 AND p.word = v.word AND p.next LIKE $4 AND ($2 = '' OR p.type = $2)) AS p
		UNION ALL SELECT s.sort_name, s.type, s.id FROM subjects s WHERE s.tenant = $1 AND s.id = $5 AND ($2 = '' OR s.type = $2)`
	args := []any{tenant, string(q.Type), stringArray(words), likeText(second) + "%", strings.TrimSpace(q.Search)}
	var counts struct {
		Raw      int `db:"raw"`
		Distinct int `db:"distinct"`
	}
	if err := s.DB.GetContext(ctx, &counts, `WITH hits AS MATERIALIZED (`+hits+` LIMIT `+fmt.Sprint(fewMatches+1)+`)
		SELECT count(*) AS raw, count(DISTINCT (type, id)) AS distinct FROM hits`, args...); err != nil {
		return nil, 0, false, postgres.Classify(err)
	}
	if counts.Raw > fewMatches {
		return nil, 0, false, nil
	}
	var rows []subjectRow
	if err := s.DB.SelectContext(ctx, &rows, `WITH page AS (SELECT DISTINCT * FROM (`+hits+`) AS hits ORDER BY 1, 2, 3 LIMIT $6 OFFSET $7)
		SELECT s.*, 0 AS total FROM page
		CROSS JOIN LATERAL (SELECT `+subjectColumns+` FROM subjects s WHERE s.tenant = $1 AND s.type = page.type AND s.id = page.id) AS s
		ORDER BY page.sort_name, page.type, page.id`, append(args, q.Limit, q.Offset)...); err != nil {
		return nil, 0, false, postgres.Classify(err)
	}
	out, _ := subjectsOf(rows)
	return out, counts.Distinct, true, nil
}

// wordLookup is wordsContaining for one search's tenant: the word lists, the pairs and the
// name walk ask for the same words, each looked up once.
type wordLookup func(text string) (_ []string, ok bool, _ error)

func (s *Directory) wordLookup(ctx context.Context, tenant string) wordLookup {
	type found struct {
		words []string
		ok    bool
	}
	seen := map[string]found{}
	return func(text string) ([]string, bool, error) {
		if f, ok := seen[text]; ok {
			return f.words, f.ok, nil
		}
		words, ok, err := s.wordsContaining(ctx, tenant, text)
		if err == nil {
			seen[text] = found{words, ok}
		}
		return words, ok, err
	}
}

// wordsContaining lists the tenant's vocabulary words containing text (one word; a
// short one starts them, see textMatch), or declines (ok false) when there are more than
// maxWords, or finding them would cost more than walking names.
func (s *Directory) wordsContaining(ctx context.Context, tenant, text string) (_ []string, ok bool, _ error) {
	filter, filterArgs := `v.word LIKE $2`, []any{likeText(text) + "%"} // a range of search_vocabulary_words
	if !isShortWord(text) {
		if len(windows(text)) == 0 { // nothing the trigram index can look up
			return nil, false, nil
		}
		var estimate float64
		filter, filterArgs, estimate = s.trigrams.frequencies(ctx, s.DB, vocabularyTrigrams).textFilter("v.word", text, 2, maxWords+1)
		if estimate > 10*maxWords {
			return nil, false, nil
		}
	}
	var words []string
	if err := s.DB.SelectContext(ctx, &words, `SELECT v.word FROM search_vocabulary v WHERE v.tenant = $1 AND `+filter+`
		LIMIT `+fmt.Sprint(maxWords+1), append([]any{tenant}, filterArgs...)...); err != nil {
		return nil, false, postgres.Classify(err)
	}
	return words, len(words) <= maxWords, nil
}

// walkStart is a name no match of text sorts before, nil when none is known. Each word of
// the text lies inside one word of every match (the second and later start one), so a
// match is on the list of a vocabulary word containing it (or, short, starting with it),
// and sorts no earlier than the first name on those lists (or it is the subject the text
// names by id). Of those bounds, one per word, the latest is the tightest.
func (s *Directory) walkStart(ctx context.Context, containing wordLookup, tenant string, q subjects.Query, text string) (*string, error) {
	var start *string
	for i, piece := range strings.Split(text, " ") {
		if i == 0 && isShortWord(piece) {
			continue // the first word may end a word of the match, not start it
		}
		words, ok, err := containing(piece)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		if err := s.DB.GetContext(ctx, &start, `SELECT greatest($5::text, min(first)) FROM (
				SELECT (SELECT w.sort_name FROM subject_words w WHERE w.tenant = $1 AND w.word = v.word AND ($2 = '' OR w.type = $2)
					ORDER BY w.sort_name LIMIT 1) AS first
				FROM unnest($3::text[]) AS v(word)
				UNION ALL SELECT s.sort_name FROM subjects s WHERE s.tenant = $1 AND s.id = $4 AND ($2 = '' OR s.type = $2)) AS firsts`,
			tenant, string(q.Type), stringArray(words), strings.TrimSpace(q.Search), start); err != nil {
			return nil, postgres.Classify(err)
		}
	}
	return start, nil
}
