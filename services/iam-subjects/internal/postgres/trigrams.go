package postgres

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// A trigram index answers `LIKE '%text%'` by intersecting the posting lists of every
// trigram of the text, and a list that nearly every row is on ("use" and "ser" when
// usernames are user1, user2, ...) costs as much as the whole table's worth of entries: a
// username search took 17 ms in the index and found one row. Asking the index only for
// the text's rare trigrams, and checking the whole text on the few rows they find, took
// 0.7 ms. Which trigrams are rare comes from ANALYZE's statistics on show_trgm(column)
// (the migration declares them); without them the whole text goes to the index.

// trigramFrequencies is one statistics object's reading: the fraction of rows holding each
// common trigram, and rows, the table's size when analyzed.
type trigramFrequencies struct {
	freq        map[string]float64
	floor       float64 // at most this, for a trigram not listed
	rows        float64
	wordsRepeat bool // see trigramSource
}

// trigramSource is a statistics object the migration declares, and whether its rows
// repeat words: the subjects' search texts do (38,000 Yusufs), so two windows of one word
// find the same rows; the vocabulary's words are distinct, so they narrow each other.
type trigramSource struct {
	name        string
	wordsRepeat bool
}

var (
	subjectTrigrams    = trigramSource{name: "subjects_search_trigrams", wordsRepeat: true}
	vocabularyTrigrams = trigramSource{name: "search_vocabulary_trigrams"}
)

// Costs per row, in the same unit, of reading a trigram posting list entry and of
// checking a candidate row: measured on a million subjects, ~0.15 µs and ~5 µs.
const (
	postingCost = 1.0
	recheckCost = 33.0
)

// textFilter is the condition for column containing text (lower-cased), in a query
// taking up to limit matches: LIKE clauses on the rare trigrams chosen for the index, then
// the exact check. next is the number of the first parameter it may use; it returns the
// condition and its arguments, and the estimated number of rows the index finds (-1
// without statistics).
func (f *trigramFrequencies) textFilter(column, text string, next, limit int) (string, []any, float64) {
	exact := fmt.Sprintf("strpos(%s, $%d) > 0", column, next)
	chosen, estimate := f.choose(windows(text), limit)
	if chosen == nil {
		return fmt.Sprintf("%s LIKE '%%' || $%d || '%%' AND %s", column, next+1, exact), []any{text, likeText(text)}, -1
	}
	clauses, args := []string{exact}, []any{text}
	for _, w := range chosen {
		clauses = append(clauses, fmt.Sprintf("%s LIKE $%d", column, next+len(args)))
		args = append(args, "%"+w+"%")
	}
	return strings.Join(clauses, " AND "), args, estimate
}

// window is three characters of the search text at pos (in runes), chosen so that
// `LIKE '%<text>%'` gives the index known trigrams: three letters or digits ("han"), or
// two at the start of a word (" xu": the index's "  x" and " xu") or at its end ("na ").
type window struct {
	text     string
	pos      int
	word     int // which word of the text it is in: windows of one word find the same rows
	trigrams []string
}

func windows(text string) []window {
	rs := []rune(text)
	words := make([]int, len(rs)) // the word each letter or digit is in
	for i, word := 0, -1; i < len(rs); i++ {
		if isWordRune(rs[i]) && (i == 0 || !isWordRune(rs[i-1])) {
			word++
		}
		words[i] = max(word, 0)
	}
	var out []window
	for i := 0; i+3 <= len(rs); i++ {
		a, b, c := rs[i], rs[i+1], rs[i+2]
		w := window{text: string(rs[i : i+3]), pos: i, word: words[i+1]}
		switch {
		case isWordRune(a) && isWordRune(b) && isWordRune(c):
			w.trigrams = []string{w.text}
		case a == ' ' && isWordRune(b) && isWordRune(c):
			w.trigrams = []string{"  " + string(b), w.text}
		case isWordRune(a) && isWordRune(b) && c == ' ':
			w.trigrams = []string{w.text}
		default:
			continue
		}
		out = append(out, w)
	}
	return out
}

func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

// share is the share of rows holding trigram t: listed, or at most floor.
func (f *trigramFrequencies) share(t string) float64 {
	if p, ok := f.freq[t]; ok {
		return p
	}
	return f.floor
}

// choose picks the non-overlapping windows (up to three) that make the index cheapest for
// a query taking limit matches: each window costs its posting lists, and every row found
// costs a recheck, until limit of them match. Frequencies of windows far apart multiply;
// overlapping ones are nearly the same rows, so never both. Nil without statistics or
// windows; the estimate is of the rows the chosen windows find, 0 when one of them is too
// rare to be listed.
func (f *trigramFrequencies) choose(ws []window, limit int) ([]string, float64) {
	if f == nil || len(ws) == 0 {
		return nil, -1
	}
	if len(ws) > 16 { // a long text: its first sixteen windows are choice enough
		ws = ws[:16]
	}
	// A window's rows hold all its trigrams: no more than its rarest's.
	postings, share := make([]float64, len(ws)), make([]float64, len(ws))
	for i, w := range ws {
		share[i] = 1
		for _, t := range w.trigrams {
			postings[i] += f.share(t)
			share[i] = min(share[i], f.share(t))
		}
	}
	// sets calls visit with every set of up to three non-overlapping windows, their
	// postings and the share of rows holding them all: windows are taken as independent,
	// except those of one word where words repeat: the same rows (its rarest window's).
	sets := func(visit func(set []int, postings, share float64)) {
		var walk func(from int, set []int, p float64)
		walk = func(from int, set []int, p float64) {
			if len(set) > 0 {
				s, last, word := 1.0, 1.0, -1
				for _, i := range set {
					if ws[i].word != word || !f.wordsRepeat {
						s, last, word = s*last, 1, ws[i].word
					}
					last = min(last, share[i])
				}
				visit(set, p, s*last)
			}
			for i := from; i < len(ws) && len(set) < 3; i++ {
				if len(set) == 0 || ws[i].pos >= ws[set[len(set)-1]].pos+3 {
					walk(i+1, append(set, i), p+postings[i])
				}
			}
		}
		walk(0, nil, 0)
	}
	matches := 1.0 // the share of rows matching: the narrowest set's
	sets(func(_ []int, _, s float64) { matches = min(matches, s) })
	var best []int
	var bestCost float64
	sets(func(set []int, p, s float64) {
		rechecks := s * min(1, float64(limit)/(matches*f.rows)) // stops at limit matches
		if cost := p*postingCost + rechecks*recheckCost; best == nil || cost < bestCost {
			best, bestCost = slices.Clone(set), cost
		}
	})
	// The estimate trusts listed frequencies only: a trigram too rare to be listed may
	// be on one row or on floor of them, and is most likely on few.
	chosen, estimate := make([]string, len(best)), f.rows
	for i, w := range best {
		chosen[i] = ws[w].text
		rarest := 1.0
		for _, t := range ws[w].trigrams {
			rarest = min(rarest, f.freq[t]) // 0 when not listed
		}
		estimate *= rarest // (an underestimate for windows of one word)
	}
	return chosen, estimate
}

// trigramStats reads and caches the frequencies of the statistics objects the migration
// declares; ANALYZE changes them rarely, so a reading serves for a minute.
type trigramStats struct {
	mu   sync.Mutex
	read map[string]trigramReading
}

type trigramReading struct {
	at    time.Time
	freqs *trigramFrequencies
}

const trigramStatsAge = time.Minute

// frequencies of statistics object name, nil when ANALYZE has not yet run (or the
// statistics cannot be read): searches then give the index their whole text.
func (t *trigramStats) frequencies(ctx context.Context, db sqlx.QueryerContext, src trigramSource) *trigramFrequencies {
	t.mu.Lock()
	r, ok := t.read[src.name]
	t.mu.Unlock()
	if ok && time.Since(r.at) < trigramStatsAge {
		return r.freqs
	}
	var row struct {
		Elems pq.StringArray  `db:"elems"`
		Freqs pq.Float64Array `db:"freqs"`
		Rows  float64         `db:"rows"`
	}
	err := sqlx.GetContext(ctx, db, &row, `SELECT e.most_common_elems::text::text[] AS elems, e.most_common_elem_freqs::float8[] AS freqs,
			c.reltuples::float8 AS rows
		FROM pg_stats_ext_exprs e JOIN pg_class c ON c.relname = e.tablename AND c.relnamespace = to_regnamespace(e.schemaname)
		WHERE e.statistics_name = $1 AND e.schemaname = current_schema() AND e.most_common_elems IS NOT NULL`, src.name)
	var freqs *trigramFrequencies
	// The element frequencies are followed by their minimum, maximum and the share of
	// rows without elements.
	if err == nil && len(row.Freqs) >= len(row.Elems)+1 && len(row.Elems) > 0 {
		freqs = &trigramFrequencies{freq: make(map[string]float64, len(row.Elems)), floor: row.Freqs[len(row.Elems)], rows: row.Rows,
			wordsRepeat: src.wordsRepeat}
		for i, e := range row.Elems {
			freqs.freq[e] = row.Freqs[i]
		}
	}
	if ctx.Err() != nil { // a cancelled request says nothing about the statistics
		return freqs
	}
	t.mu.Lock()
	if t.read == nil {
		t.read = map[string]trigramReading{}
	}
	t.read[src.name] = trigramReading{time.Now(), freqs}
	t.mu.Unlock()
	return freqs
}
