package oauthclients_test

import (
	"context"
	"testing"
	"time"
)

// TestScheduledKeyRotation: with two replicas and a 2s interval, keys rotate on schedule,
// once per interval (not once per replica), and tokens of the retired key stay valid.
func TestScheduledKeyRotation(t *testing.T) {
	t.Parallel()
	s := mustStart(t, map[string]string{"IAM_KEY_ROTATION_INTERVAL": "2s"})
	s.replica(t)
	before := s.mustToken(t, "system", adminID, adminSecret, "")
	// Whichever replica holds the lock rotates; the other signs with the new key after its
	// next refresh (within 30s), so look at the ring itself.
	eventually(t, "a scheduled rotation", func() bool {
		var active string
		_ = s.DB.Get(&active, `SELECT kid FROM signing_keys WHERE retired_at IS NULL`)
		return active != "" && active != header(before)["kid"]
	})
	// An unexpired token of the retired key still works, and its key is still published.
	if resp, _ := s.as(t, before).ListClientsWithResponse(context.Background(), "acme", nil); resp.StatusCode() != 200 {
		t.Errorf("a token of the retired key: %d", resp.StatusCode())
	}
	time.Sleep(5 * time.Second)
	var keys []struct {
		Created time.Time  `db:"created_at"`
		Retired *time.Time `db:"retired_at"`
	}
	if err := s.DB.Select(&keys, `SELECT created_at, retired_at FROM signing_keys ORDER BY created_at`); err != nil {
		t.Fatal(err)
	}
	active := 0
	for i, k := range keys {
		if k.Retired == nil {
			active++
		}
		if i > 0 && k.Created.Sub(keys[i-1].Created) < time.Second {
			t.Errorf("keys %d and %d created %s apart: two replicas rotated at once", i-1, i, k.Created.Sub(keys[i-1].Created))
		}
	}
	if active != 1 || len(keys) < 3 || len(keys) > 6 {
		t.Errorf("%d keys, %d active, after ~7s of 2s rotations", len(keys), active)
	}
}
