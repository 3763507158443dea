package consents

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"
)

// Ledger event types.
const (
	Granted             = "consent_granted"
	Revoked             = "consent_revoked"
	ReconsentRequired   = "consent_reconsent_required"
	VersionMigrated     = "consent_version_migrated"
	SubjectDeleted      = "subject_deleted"
	ClientAccessGranted = "client_access_granted"
	ClientAccessRevoked = "client_access_revoked"
	// ClientAccessDenied records that a person declined a client on the consent screen.
	ClientAccessDenied = "client_access_denied"
)

// LedgerEvent is one entry of a tenant's privacy ledger. Its JSON (without the hashes) is
// what the chain hashes, so the field order is part of the ledger's format.
type LedgerEvent struct {
	Seq            int64             `json:"seq"`
	Type           string            `json:"type"`
	Subject        string            `json:"subject"`
	ConsentID      string            `json:"consentId,omitempty"`
	ConsentVersion int64             `json:"consentVersion,omitempty"`
	GrantType      string            `json:"grantType,omitempty"`
	Context        map[string]string `json:"context,omitempty"`
	Language       string            `json:"language,omitempty"`
	ActionID       string            `json:"actionId,omitempty"`
	OccurredAt     time.Time         `json:"occurredAt"`
	PrevHash       string            `json:"-"`
	Hash           string            `json:"-"`
}

// LedgerQuery filters the ledger.
type LedgerQuery struct {
	Subject       string
	From, To      *time.Time
	Offset, Limit int
}

// Verification is the result of recomputing a tenant's hash chain.
type Verification struct {
	Valid          bool
	Checked        int64
	FirstBrokenSeq *int64
}

// Link is the end of a tenant's chain: its last event's seq and hash.
type Link struct {
	Seq  int64
	Hash string
}

// Genesis is where every tenant's chain starts.
var Genesis = Link{Seq: 0, Hash: hex.EncodeToString(make([]byte, sha256.Size))}

// chainHash links an event to its predecessor: sha256(prev || canonical JSON of the event).
// The JSON is of the event's own fields in a fixed order, times in UTC to the microsecond,
// so a recomputation from the stored row gives the same bytes.
func chainHash(prev string, ev LedgerEvent) string {
	ev.OccurredAt = ev.OccurredAt.UTC().Truncate(time.Microsecond)
	if ev.Context == nil {
		ev.Context = map[string]string{}
	}
	body, _ := json.Marshal(ev)
	sum := sha256.Sum256(append([]byte(prev), body...))
	return hex.EncodeToString(sum[:])
}

// Chain links evs after head: each gets the next seq, the hash it follows and its own
// hash, its time cut to the microseconds storage keeps. It returns the linked events and
// the chain's new head; storage saves both in the transaction that holds head locked.
func Chain(head Link, evs []LedgerEvent) ([]LedgerEvent, Link) {
	linked := make([]LedgerEvent, len(evs))
	for i, ev := range evs {
		ev.Seq, ev.OccurredAt = head.Seq+1, ev.OccurredAt.UTC().Truncate(time.Microsecond)
		ev.PrevHash, ev.Hash = head.Hash, chainHash(head.Hash, ev)
		linked[i], head = ev, Link{Seq: ev.Seq, Hash: ev.Hash}
	}
	return linked, head
}

// LedgerStore reads the privacy ledger (the stores of the changes append to it).
type LedgerStore interface {
	// Ledger lists events, oldest first.
	Ledger(ctx context.Context, tenant string, q LedgerQuery) ([]LedgerEvent, int, error)
	// WalkLedger calls visit with the tenant's events as stored, hashes included, in seq
	// order, until visit returns false.
	WalkLedger(ctx context.Context, tenant string, visit func(LedgerEvent) bool) error
	// LedgerHead is the end of the tenant's chain as stored; nil when it has none.
	LedgerHead(ctx context.Context, tenant string) (*Link, error)
}

// Ledger lists a tenant's ledger events, oldest first.
func (b *Book) Ledger(ctx context.Context, tenant string, q LedgerQuery) ([]LedgerEvent, int, error) {
	return b.store.Ledger(ctx, tenant, q)
}

// VerifyLedger recomputes the tenant's chain from the start and names the first broken
// link: an event changed, inserted or deleted directly in the database.
func (b *Book) VerifyLedger(ctx context.Context, tenant string) (Verification, error) {
	v, prev := Verification{Valid: true}, Genesis
	broken := func(seq int64) {
		v.Valid, v.FirstBrokenSeq = false, &seq
	}
	err := b.store.WalkLedger(ctx, tenant, func(ev LedgerEvent) bool {
		v.Checked++
		if ev.Seq != prev.Seq+1 || ev.PrevHash != prev.Hash || chainHash(prev.Hash, ev) != ev.Hash {
			broken(ev.Seq)
			return false
		}
		prev = Link{Seq: ev.Seq, Hash: ev.Hash}
		return true
	})
	if err != nil || !v.Valid {
		return v, err
	}
	head, err := b.store.LedgerHead(ctx, tenant)
	if err != nil {
		return v, err
	}
	if head != nil && *head != prev {
		// Events were deleted from the end of the chain.
		broken(prev.Seq + 1)
	}
	return v, nil
}
