package postgres

import (
	"slices"
	"testing"
)

func TestTrigramChoice(t *testing.T) {
	// Frequencies as ANALYZE saw a million users named "<first> <last>" with usernames
	// user<n> and emails user<n>@example.com.
	freqs := &trigramFrequencies{rows: 1e6, floor: 0.002, wordsRepeat: true, freq: map[string]float64{
		"use": 1, "ser": 1, "exa": 1, "xam": 1, "com": 1, "er1": 0.11, "r12": 0.011, "123": 0.02, "234": 0.02, "345": 0.02,
		"ann": 0.07, "nna": 0.075, "na ": 0.1, "  h": 0.05, " ha": 0.04, "  x": 0.04, " xu": 0.033, "yus": 0.0377, "usu": 0.0377, "suf": 0.0377, "uf ": 0.0377, "  b": 0.099, " be": 0.0325, "ber": 0.065, "han": 0.033, "ans": 0.033, "nse": 0.27, "sen": 0.27,
	}}
	for _, c := range []struct {
		text     string
		want     []string
		distinct bool // words do not repeat (the vocabulary)
	}{
		// The rare trigrams, never the ones on every row; of distinct words, windows far
		// apart narrow each other.
		{"user123456", []string{"r12", "456"}, true},
		// Where words repeat, two windows of one word find the same rows.
		{"user123456", []string{"456"}, false},
		// Far-apart trigrams of two words narrow each other; overlapping ones would not.
		{"anna han", []string{"ann", "han"}, false},
		// Two windows of one word find the same rows: one of them, and one of the other word.
		{"yusuf ber", []string{"yus", "ber"}, false},
		// A short word's start is a trigram too.
		{"anna xu", []string{"ann", " xu"}, false},
		// One rare trigram is enough when a second would cost more than it saves.
		{"hansen", []string{"han"}, false},
		// Nothing to choose: the whole text goes to the index.
		{"an", nil, false},
		{"a b c", nil, false},
	} {
		freqs.wordsRepeat = !c.distinct
		got, _ := freqs.choose(windows(c.text), 2001)
		slices.Sort(got)
		slices.Sort(c.want)
		if !slices.Equal(got, c.want) {
			t.Errorf("%q (distinct words %v): chose %v, want %v", c.text, c.distinct, got, c.want)
		}
	}
	if _, estimate := freqs.choose(windows("zofia"), 33); estimate != 0 {
		t.Errorf("a trigram too rare to be listed: estimated %v rows", estimate)
	}
	if _, estimate := freqs.choose(windows("user1"), 33); estimate < 100_000 {
		t.Errorf("user1: estimated %v rows", estimate)
	}
	var none *trigramFrequencies
	if got, _ := none.choose(windows("hansen"), 2001); got != nil {
		t.Errorf("without statistics: chose %v", got)
	}
}

func TestTextFilter(t *testing.T) {
	freqs := &trigramFrequencies{rows: 1e6, floor: 0.002, freq: map[string]float64{"use": 1, "ser": 1}}
	filter, args, estimate := freqs.textFilter("s.search", "user%9x", 4, 2001)
	// Only letters and digits make windows: "r%9" is no trigram of the index.
	if filter != "strpos(s.search, $4) > 0 AND s.search LIKE $5" || len(args) != 2 || args[1] != "%ser%" && args[1] != "%use%" || estimate != 1e6 {
		t.Errorf("filter %q args %v estimate %v", filter, args, estimate)
	}
	var none *trigramFrequencies
	filter, args, _ = none.textFilter("s.search", "50%_", 2, 2001)
	if filter != "s.search LIKE '%' || $3 || '%' AND strpos(s.search, $2) > 0" || args[0] != "50%_" || args[1] != `50\%\_` {
		t.Errorf("without statistics: %q %v", filter, args)
	}
}
