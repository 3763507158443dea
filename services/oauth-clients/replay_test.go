package oauthclients_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// The seed dialects' replay suites (identityservice_test.go, aritma_test.go,
// cloudentity_test.go) send the seeds' documented requests, transcribed into
// testdata/<seed>/, through real HTTP, and check each answer against the seed's documented
// status and shape.

// fixture reads testdata/<seed>/<name> as raw JSON.
func fixture(tb testing.TB, seed, name string) json.RawMessage {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", seed, name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// answer is a response read whole.
type answer struct {
	status int
	header http.Header
	body   []byte
}

func (a answer) String() string { return fmt.Sprintf("%d %s", a.status, a.body) }

// json decodes the body; it fails the test when the body is not JSON.
func (a answer) json(tb testing.TB) any {
	tb.Helper()
	var v any
	if err := json.Unmarshal(a.body, &v); err != nil {
		tb.Fatalf("answer is not JSON: %s", a)
	}
	return v
}

// send makes one request with token as the bearer token ("" sends none) and body ("" none)
// of the given content type.
func (s *stack) send(tb testing.TB, method, path, token, contentType string, body []byte) answer {
	tb.Helper()
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, s.URL+path, r)
	if err != nil {
		tb.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: b}
}

// sameShape reports where got differs in shape from the documented want: every member
// want has is in got with the same JSON type, recursively; an array's items are each
// compared with want's first item, a map's entries with want's "property1" (OpenAPI's
// placeholder for additionalProperties). optional names members (by path, e.g.
// "data.attributes.secret") got may lack.
func sameShape(want, got any, optional ...string) []string {
	var diffs []string
	skip := map[string]bool{}
	for _, o := range optional {
		skip[o] = true
	}
	var walk func(path string, want, got any)
	walk = func(path string, want, got any) {
		if kind(want) != kind(got) {
			if want != nil { // null documents no type
				diffs = append(diffs, fmt.Sprintf("%s: %s, documented %s", orRoot(path), kind(got), kind(want)))
			}
			return
		}
		switch w := want.(type) {
		case map[string]any:
			g := got.(map[string]any)
			if entry, ok := w["property1"]; ok {
				// OpenAPI's placeholder for a map's entries: every entry has its shape.
				for k, gv := range g {
					walk(path+"."+k, entry, gv)
				}
				return
			}
			keys := make([]string, 0, len(w))
			for k := range w {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				p := strings.TrimPrefix(path+"."+k, ".")
				gv, ok := g[k]
				switch {
				case !ok && !skip[p]:
					diffs = append(diffs, p+": missing")
				case ok:
					walk(p, w[k], gv)
				}
			}
		case []any:
			if len(w) == 0 {
				return
			}
			for i, gv := range got.([]any) {
				walk(fmt.Sprintf("%s[%d]", path, i), w[0], gv)
			}
		}
	}
	walk("", want, got)
	return diffs
}

func orRoot(p string) string {
	if p == "" {
		return "(body)"
	}
	return p
}

func kind(v any) string {
	switch v.(type) {
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "boolean"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", v)
}

// mustShape fails the test when a's body does not have the shape of the documented body.
func mustShape(tb testing.TB, what string, a answer, documented json.RawMessage, optional ...string) {
	tb.Helper()
	var want any
	if err := json.Unmarshal(documented, &want); err != nil {
		tb.Fatal(err)
	}
	if diffs := sameShape(want, a.json(tb), optional...); len(diffs) > 0 {
		tb.Errorf("%s: the answer's shape differs from the seed's:\n  %s\nanswer: %s", what, strings.Join(diffs, "\n  "), a)
	}
}

// mustStatus fails the test unless a has the status.
func mustStatus(tb testing.TB, what string, a answer, status int) {
	tb.Helper()
	if a.status != status {
		tb.Fatalf("%s: %s, want %d", what, a, status)
	}
}

// tenantAdmin registers a client with services.iam in tenant and returns its token.
func (s *stack) tenantAdmin(tb testing.TB, tenant string) string {
	tb.Helper()
	c := s.mustClient(tb, tenant, "services.iam")
	return s.mustToken(tb, tenant, c.ClientId, *c.ClientSecret, "")
}
