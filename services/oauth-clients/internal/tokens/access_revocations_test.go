package tokens

import (
	"testing"
	"time"
)

func TestAccessRevocationBlocks(t *testing.T) {
	revoked := time.Date(2026, 11, 24, 10, 0, 0, 500_000_000, time.UTC) // half a second in
	regranted := revoked.Add(time.Hour)
	r := revoked.Unix()
	for _, tc := range []struct {
		name      string
		regranted *time.Time
		iat       int64
		blocked   bool
	}{
		{"issued before the revocation", nil, r - 60, true},
		{"issued in the revocation's second", nil, r, true},
		{"issued while revoked", nil, r + 60, true},
		{"issued before the revocation, after a re-grant", &regranted, r - 60, true},
		{"issued while revoked, after a re-grant", &regranted, r + 60, true},
		{"issued in the re-grant's second", &regranted, regranted.Unix(), false},
		{"issued after the re-grant", &regranted, regranted.Unix() + 60, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := (AccessRevocation{RevokedAt: revoked, RegrantedAt: tc.regranted}).Blocks(tc.iat); got != tc.blocked {
				t.Errorf("Blocks(%d) = %v, want %v", tc.iat, got, tc.blocked)
			}
		})
	}
}
