package clients

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"
)

// CredentialCache keeps, per replica, what authenticating a client needs: the client and
// the hashes of its unexpired secrets. It takes the database off the token endpoint's hot
// path without weakening it:
//
//   - secret expiry is checked on every request against the cached expiry, so an expired
//     secret stops working at its expiry everywhere;
//   - every write on this replica (client changed or deleted, secret added or revoked)
//     drops the entry once its transaction has committed, and a fill that started before
//     the change is not kept (see epoch), so the change is effective at once here;
//   - other replicas drop it when the change's event reaches them (milliseconds; see
//     events.Invalidator), and after TTL at the latest, should events be held up.
//
// For a caller-chosen secret (argon2id at rest) the cache also remembers, in memory only,
// an HMAC of the value once argon2id has verified it, under a key random per process and
// never stored: later requests with that value cost an HMAC instead of ~40 ms of
// argon2id. Only a value argon2id accepted is remembered; once one is, other values are
// refused at HMAC cost too (a secret has one value), which also blunts CPU exhaustion.
type CredentialCache struct {
	TTL        time.Duration // default 30s
	MaxEntries int           // default 100,000

	mu      sync.RWMutex
	entries map[credKey]*credentials
	// epoch counts invalidations. A fill records it before reading the database and is
	// kept only if no invalidation happened meanwhile: otherwise a read that began before
	// a commit could put the old state back after the commit dropped it.
	epoch   atomic.Uint64
	loads   singleflight.Group
	memoKey []byte
	once    sync.Once
}

type credKey struct{ tenant, id string }

// credentials is an immutable snapshot but for memo, which fills as slow secrets verify.
type credentials struct {
	client   *Client
	secrets  []Secret
	memo     []atomic.Pointer[[sha256.Size]byte]
	loadedAt time.Time
}

func (c *CredentialCache) init() {
	c.once.Do(func() {
		if c.TTL == 0 {
			c.TTL = 30 * time.Second
		}
		if c.MaxEntries == 0 {
			c.MaxEntries = 100_000
		}
		c.entries = make(map[credKey]*credentials)
		c.memoKey = randomBytes(32)
	})
}

// Invalidate drops a client's entry. A nil cache has nothing to drop.
func (c *CredentialCache) Invalidate(tenant, id string) {
	if c == nil {
		return
	}
	c.init()
	c.epoch.Add(1)
	c.mu.Lock()
	delete(c.entries, credKey{tenant, id})
	c.mu.Unlock()
}

// Forget drops the entries of clients changed elsewhere (another replica's event, a
// forced scope deletion).
func (c *CredentialCache) Forget(tenant string, ids []string) {
	for _, id := range ids {
		c.Invalidate(tenant, id)
	}
}

// Flush drops every entry, e.g. when invalidation events may have been missed.
func (c *CredentialCache) Flush() {
	c.init()
	c.epoch.Add(1)
	c.mu.Lock()
	clear(c.entries)
	c.mu.Unlock()
}

// Len is the number of cached clients.
func (c *CredentialCache) Len() int {
	c.init()
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.entries)
}

// get returns the client's credentials from the cache or, through load, from the store.
// Concurrent misses of one client share a single load.
func (c *CredentialCache) get(ctx context.Context, tenant, id string, load func(ctx context.Context) (*Client, []Secret, error)) (*credentials, error) {
	c.init()
	key := credKey{tenant, id}
	c.mu.RLock()
	e := c.entries[key]
	c.mu.RUnlock()
	if e != nil && time.Since(e.loadedAt) < c.TTL {
		return e, nil
	}
	// The epoch is part of the flight's key: a request that arrives after an invalidation
	// never shares a load that began before it.
	epoch := c.epoch.Load()
	v, err, _ := c.loads.Do(tenant+"\x00"+id+"\x00"+strconv.FormatUint(epoch, 10), func() (any, error) {
		client, secrets, err := load(ctx)
		if err != nil {
			return nil, err
		}
		e := &credentials{client: client, secrets: secrets, memo: make([]atomic.Pointer[[sha256.Size]byte], len(secrets)), loadedAt: time.Now()}
		c.mu.Lock()
		if c.epoch.Load() == epoch {
			if len(c.entries) >= c.MaxEntries {
				for k := range c.entries { // map order is random: evict any one
					delete(c.entries, k)
					break
				}
			}
			c.entries[key] = e
		}
		c.mu.Unlock()
		return e, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*credentials), nil
}

// match reports in constant time whether value is the i-th secret, remembering a verified
// slow (argon2id) secret as an HMAC so that its next check is fast.
func (c *CredentialCache) match(e *credentials, i int, value string) bool {
	s := &e.secrets[i]
	if !strings.HasPrefix(s.Hash, "$argon2id$") {
		return s.Matches(value)
	}
	mac := hmac.New(sha256.New, c.memoKey)
	mac.Write([]byte(s.ID))
	mac.Write([]byte{0})
	mac.Write([]byte(value))
	var sum [sha256.Size]byte
	mac.Sum(sum[:0])
	if known := e.memo[i].Load(); known != nil {
		return subtle.ConstantTimeCompare(known[:], sum[:]) == 1
	}
	if !s.Matches(value) {
		return false
	}
	e.memo[i].Store(&sum)
	return true
}
