package consents

import (
	"testing"
	"time"
)

func TestChain(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 6789, time.FixedZone("CET", 3600))
	evs := []LedgerEvent{{Type: Granted, Subject: "user-1", OccurredAt: at}, {Type: Revoked, Subject: "user-1", OccurredAt: at}}
	linked, head := Chain(Genesis, evs)
	prev := Genesis
	for i, ev := range linked {
		if ev.Seq != int64(i+1) || ev.PrevHash != prev.Hash || ev.Hash != chainHash(prev.Hash, ev) {
			t.Fatalf("event %d not linked to %+v: %+v", i, prev, ev)
		}
		if !ev.OccurredAt.Equal(at.Truncate(time.Microsecond)) || ev.OccurredAt.Location() != time.UTC {
			t.Errorf("event %d time %v: want UTC microseconds", i, ev.OccurredAt)
		}
		prev = Link{Seq: ev.Seq, Hash: ev.Hash}
	}
	if head != prev {
		t.Errorf("head %+v, want %+v", head, prev)
	}
	if evs[0].Seq != 0 || evs[0].Hash != "" {
		t.Error("Chain changed its input")
	}
	changed := linked[1]
	changed.Subject = "user-2"
	if chainHash(linked[0].Hash, changed) == linked[1].Hash {
		t.Error("a changed event keeps its hash")
	}
}
