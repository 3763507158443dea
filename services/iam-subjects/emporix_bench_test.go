package iamsubjects_test

import (
	"io"
	"net/http"
	"testing"
	"time"
)

// BenchmarkDialect measures the same operation through the native API and through the
// Emporix dialect, interleaved call by call so both meet the same machine load (issue 16:
// a dialect costs at most 10 % over the native call). It reports each side's mean and
// their ratio: go test -run '^$' -bench Dialect ./services/iam-subjects/
func BenchmarkDialect(b *testing.B) {
	s := mustStart(b)
	g := s.mustGroup(b, "Bench")
	for i := range 20 {
		s.mustGroup(b, "Bench "+string(rune('a'+i)))
	}
	token := s.Issuer.Token(b, "acme", "client-admin", "services.iam")
	get := func(path string) time.Duration {
		req, _ := http.NewRequest("GET", s.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		start := time.Now()
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 200 {
			b.Fatalf("%s: %v %v", path, err, resp)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return time.Since(start)
	}
	for _, tc := range []struct{ name, native, emporix string }{
		{"get group", "/v1/tenants/acme/groups/" + g.Id, "/iam/acme/groups/" + g.Id},
		{"list groups", "/v1/tenants/acme/groups?pageSize=50", "/iam/acme/groups?pageSize=50"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var native, dialect time.Duration
			n := 0
			for b.Loop() {
				native += get(tc.native)
				dialect += get(tc.emporix)
				n++
			}
			b.ReportMetric(float64(native.Microseconds())/float64(n), "native-µs/op")
			b.ReportMetric(float64(dialect.Microseconds())/float64(n), "emporix-µs/op")
			b.ReportMetric(float64(dialect)/float64(native), "emporix/native")
		})
	}
}
