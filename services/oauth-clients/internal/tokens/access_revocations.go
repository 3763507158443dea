package tokens

import (
	"context"
	"time"
)

// AccessRevocation is a subject taking a client's access away, as consent published it
// (a ClientAccessState tombstone), and the re-grant that may have followed (a later
// upserted ClientAccessState).
type AccessRevocation struct {
	RevokedAt   time.Time
	RegrantedAt *time.Time // nil while the access stays revoked
}

// Blocks reports whether the revocation makes a token of that client for that subject,
// issued at iat (Unix seconds), inactive. A token issued before the revocation stays
// inactive for good; one issued while the access is revoked is inactive too, since the
// client had no access to the subject then; a re-grant lets only tokens issued from it on
// be active. iat has whole seconds: a token of the revocation's own second counts as
// issued before it, and one of the re-grant's second as issued after it.
func (r AccessRevocation) Blocks(iat int64) bool {
	if iat <= r.RevokedAt.Unix() || r.RegrantedAt == nil {
		return true
	}
	return iat < r.RegrantedAt.Unix()
}

// AccessRevocations is the view of consent's client-access revocations.
type AccessRevocations interface {
	// AccessRevocation returns the subject's revocation of the client's access, nil if
	// there is none.
	AccessRevocation(ctx context.Context, tenant, clientID, subject string) (*AccessRevocation, error)
}
