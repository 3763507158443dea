package subjects

import "time"

// Store persists the directory; each resource's file declares its part. Every write
// records its events in the same transaction. Changes that touch memberships lock the
// groups involved, and group nesting is serialized per tenant, so concurrent requests can
// never build a cycle.
type Store interface {
	SubjectStore
	UserStore
	GroupStore
	MembershipStore
}

// Directory is iam-subjects' use cases: every request goes through exactly one of its
// methods, which apply the rules on top of the store.
type Directory struct {
	store Store
	now   func() time.Time
}

// NewDirectory builds the use cases on store; clock stamps what they write.
func NewDirectory(store Store, clock func() time.Time) *Directory {
	return &Directory{store: store, now: clock}
}

// WallClock is the time in UTC at PostgreSQL's precision (microseconds), so that what a
// write returns equals what a later read finds.
func WallClock() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }
