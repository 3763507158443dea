package iamsubjects_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/iamplane/iam/services/iam-subjects/api"
)

// TestSearchFindsExactlyTheMatches compares every search, page by page, with its
// definition (the text anywhere in the lower-cased name, username or email, a short word at
// the start of a word of them, or the exact id; by name), whichever way the service answers it: the word lists (one word), the
// trigram index (several words, or a word in too many words), with and without ANALYZE's
// trigram statistics, after renames and deletes.
func TestSearchFindsExactlyTheMatches(t *testing.T) {
	t.Parallel()
	s := mustStart(t)
	ctx := context.Background()
	if _, err := s.DB.Exec(`
		INSERT INTO subjects (tenant, type, id, display_name, username, email, search)
		SELECT 'acme', 'User', 'u' || n, f || ' ' || l, lower(f) || n, lower(f) || '.' || lower(l) || '@corp.example',
		       lower(f || ' ' || l || ' ' || lower(f) || n || ' ' || lower(f) || '.' || lower(l) || '@corp.example')
		FROM generate_series(1, 300) n,
		     LATERAL (SELECT (ARRAY['Anna','Zofia','Hans','Ole','Petra'])[1 + n % 5] AS f,
		                     (ARRAY['Hansen','Johansen','Berg','Zimmermann','Strand','Ansel'])[1 + n / 5 % 6] AS l) AS names;
		-- Forty distinct words holding "zed": more than the word lists take.
		INSERT INTO subjects (tenant, type, id, display_name, username, search)
		SELECT 'acme', 'User', 'z' || n, 'Zed ' || n, 'zed' || n, 'zed ' || n || ' zed' || n FROM generate_series(1, 40) n;
		INSERT INTO subjects (tenant, type, id, display_name, search)
		SELECT 'acme', 'Group', 'g' || n, 'Team ' || n || ' of Hansen', 'team ' || n || ' of hansen' FROM generate_series(1, 12) n;
		INSERT INTO subjects (tenant, type, id, display_name, search) VALUES
			('acme', 'Client', 'hansen', 'Billing', 'billing'),
			('acme', 'Client', 'c2', '50% off_sale', '50% off_sale'),
			('other', 'User', 'x1', 'Anna Hansen', 'anna hansen');`); err != nil {
		t.Fatal(err)
	}
	renamed := s.mustUser(t, "ahansen")
	gone := s.mustUser(t, "annaberg")
	replace, err := s.admin.ReplaceUserWithResponse(ctx, "acme", uuid(t, renamed.Id), nil, api.UserInput{Username: ptr("olsen2"),
		FirstName: ptr("Ole"), LastName: ptr("Olsen"), Metadata: &api.MetadataInput{Version: 1}})
	if err != nil || replace.JSON200 == nil {
		t.Fatalf("rename: %v %s", err, replace.Body)
	}
	if resp, err := s.admin.DeleteUserWithResponse(ctx, "acme", uuid(t, gone.Id), nil); err != nil || resp.StatusCode() != 204 {
		t.Fatalf("delete: %v %d %s", err, resp.StatusCode(), resp.Body)
	}

	queries := []struct {
		q   string
		typ api.SubjectType
	}{
		{"hansen", ""}, {"HANSEN", api.SubjectTypeUser}, {"hansen", api.SubjectTypeGroup}, {"hansen", api.SubjectTypeClient},
		{"ans", ""}, {"zofia", ""}, {"mann", ""}, {"anna han", ""}, {"n h", ""}, {"anna.hansen@corp", ""},
		{"@corp.example", api.SubjectTypeUser}, {"zed", ""}, {"zed1", ""}, {"ahansen", ""}, {"olsen", ""}, {"annaberg", ""},
		{"team 1", ""}, {"of", ""}, {"an", ""}, {"ha", api.SubjectTypeUser}, {"z", ""}, {"zofia z", ""}, {"a xu", ""}, {"ze", ""},
		{"ann han", ""}, {"nna han", ""}, {"nse ann", ""}, {"hansen ann", ""}, {"anna\t  HAN", ""}, {"olsen olsen2", ""}, {"hans johansen", api.SubjectTypeUser},
		{"team 1 of", ""}, {"of hansen", api.SubjectTypeGroup}, {"50%", ""}, {"off_", ""}, {"%", ""}, {"_", ""}, {"u17", ""}, {"nobody", ""},
	}
	check := func(when string) {
		for _, c := range queries {
			want := s.searchDefinition(t, c.q, string(c.typ))
			var got []string
			var total int32
			for page := int32(1); ; page++ {
				params := &api.ListSubjectsParams{SearchQuery: ptr(c.q), Page: ptr(page), PageSize: ptr[int32](10)}
				if c.typ != "" {
					params.Type = ptr(c.typ)
				}
				resp, err := s.admin.ListSubjectsWithResponse(ctx, "acme", params)
				if err != nil || resp.JSON200 == nil {
					t.Fatalf("%s: search %q page %d: %v %s", when, c.q, page, err, resp.Body)
				}
				got, total = append(got, subjectIDs(resp.JSON200.Data)...), resp.JSON200.Total
				if len(resp.JSON200.Data) < 10 {
					break
				}
			}
			if !slices.Equal(got, want) || int(total) != len(want) {
				t.Errorf("%s: search %q type %q: got %d (total %d) %v, want %d %v", when, c.q, c.typ, len(got), total, got, len(want), want)
			}
		}
	}
	check("without statistics")
	if _, err := s.DB.Exec(`ANALYZE subjects; ANALYZE search_vocabulary`); err != nil {
		t.Fatal(err)
	}
	var analyzed int
	if err := s.DB.Get(&analyzed, `SELECT count(*) FROM pg_stats_ext_exprs WHERE most_common_elems IS NOT NULL
		AND statistics_name IN ('subjects_search_trigrams', 'search_vocabulary_trigrams')`); err != nil || analyzed != 2 {
		t.Fatalf("trigram statistics: %d of 2, %v", analyzed, err)
	}
	check("with statistics")
}

// searchDefinition is what a search must answer, read straight from the subject rows in
// the database's name order: the text anywhere in the search text, or a word of one or two
// characters at the start of one of its words.
func (s *stack) searchDefinition(tb testing.TB, q, typ string) []string {
	tb.Helper()
	var rows []struct {
		Type   string `db:"type"`
		ID     string `db:"id"`
		Search string `db:"search"`
	}
	if err := s.DB.Select(&rows, `SELECT type, id, search FROM subjects WHERE tenant = 'acme' AND ($1 = '' OR type = $1)
		ORDER BY sort_name, type, id`, typ); err != nil {
		tb.Fatal(err)
	}
	text := strings.Join(strings.Fields(strings.ToLower(q)), " ") // spaces are spaces
	matches := func(search string) bool { return strings.Contains(search, text) }
	if len([]rune(text)) < 3 && !strings.Contains(text, " ") { // a short word starts a word
		matches = func(search string) bool {
			return slices.ContainsFunc(strings.Fields(search), func(w string) bool { return strings.HasPrefix(w, text) })
		}
	}
	var out []string
	for _, r := range rows {
		if matches(r.Search) || r.ID == q {
			out = append(out, fmt.Sprintf("%s-%s", strings.ToLower(r.Type), r.ID))
		}
	}
	return out
}
