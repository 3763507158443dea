package clients

import (
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// FailureLimiter resists brute force on client authentication without becoming a way to
// lock others out. Failures are counted per (tenant, client, caller address) pair:
//
//   - a pair gets FreeFailures failures, then each further failure makes it wait before
//     its next attempt is even checked: 1 s, 2 s, 4 s, ... up to Window. A pair is
//     forgotten once it has been quiet for Window after its wait ended, or when it
//     authenticates successfully;
//   - PerClient failures of one client (from any address) or PerAddress failures from one
//     address (for any client) within a window are ceilings: past one, a pair that has
//     failed in this window is refused unchecked until the window ends, so a distributed
//     guesser gets one try per new pair.
//
// A pair with no failures of its own is always checked: a caller presenting the right
// credentials is never refused because of what other callers did, whether they share
// its client (anyone can learn a client_id: it is in every token) or its address (a NAT,
// a proxy, the gateway). Only a caller that failed itself may be delayed.
//
// IPv6 addresses count by their /64, which one subscriber usually holds whole.
//
// The counts live in each replica's memory: with N replicas a guesser gets at most N
// times the budget. Memory is bounded by MaxKeys pairs (and as many clients and
// addresses). Should more pairs fail within a window than fit (an attack from very many
// addresses or on very many client ids), the pairs not tracked are treated as failed
// ones: refused unchecked while their client or address is past its ceiling. That is the
// one case where a clean caller can be refused, rather than let untracked pairs guess
// without limit.
type FailureLimiter struct {
	FreeFailures int           // failures of a pair before it waits (default 5)
	PerClient    int           // ceiling of failures per window for one client (default 1000)
	PerAddress   int           // ceiling of failures per window from one address (default 100)
	Window       time.Duration // the ceilings' window and the longest wait (default 1m)
	MaxKeys      int           // pairs tracked at most, and as many clients and addresses (default 100,000)

	once     sync.Once
	mu       sync.RWMutex
	pairs    map[pairKey]*pairFailures
	clients  map[clientKey]*windowCount
	addrs    map[string]*windowCount
	overflow bool // a failed pair found no room since the last prune
	// tracked is len(pairs), which lets Check and Succeed skip the lock while nobody has
	// failed recently: the common case on the token endpoint's hot path.
	tracked atomic.Int64
}

type clientKey struct{ tenant, client string }

type pairKey struct {
	clientKey
	addr string
}

type pairFailures struct {
	n    int           // failures since the pair was last forgotten
	last time.Time     // of the last failure
	wait time.Duration // after last, before the next attempt is checked
}

type windowCount struct {
	start time.Time
	n     int
}

func (l *FailureLimiter) init() {
	l.once.Do(func() {
		if l.FreeFailures <= 0 {
			l.FreeFailures = 5
		}
		if l.PerClient <= 0 {
			l.PerClient = 1000
		}
		if l.PerAddress <= 0 {
			l.PerAddress = 100
		}
		if l.Window <= 0 {
			l.Window = time.Minute
		}
		if l.MaxKeys <= 0 {
			l.MaxKeys = 100_000
		}
		l.pairs, l.clients, l.addrs = map[pairKey]*pairFailures{}, map[clientKey]*windowCount{}, map[string]*windowCount{}
	})
}

func keyOf(tenant, clientID, addr string) pairKey {
	if len(clientID) > 128 {
		clientID = clientID[:128]
	}
	if strings.IndexByte(addr, ':') >= 0 { // IPv6, or IPv4 mapped into it
		if a, err := netip.ParseAddr(addr); err == nil {
			if a = a.Unmap(); a.Is6() {
				p, _ := a.Prefix(64)
				addr = p.String()
			} else {
				addr = a.String()
			}
		}
	}
	if len(addr) > 64 {
		addr = addr[:64]
	}
	return pairKey{clientKey{tenant, clientID}, addr}
}

// Check returns how long a caller must wait before trying to authenticate clientID of
// tenant from addr; zero means go ahead.
func (l *FailureLimiter) Check(tenant, clientID, addr string, now time.Time) time.Duration {
	if l == nil || l.tracked.Load() == 0 {
		return 0
	}
	l.init()
	k := keyOf(tenant, clientID, addr)
	l.mu.RLock()
	defer l.mu.RUnlock()
	p := l.pairs[k]
	if p == nil || l.forgotten(p, now) {
		if !l.overflow {
			return 0 // a clean pair is always checked
		}
		return l.ceiling(k, now)
	}
	return max(p.last.Add(p.wait).Sub(now), l.ceiling(k, now), 0)
}

// ceiling is how long the pair's client or address stays past its ceiling.
func (l *FailureLimiter) ceiling(k pairKey, now time.Time) time.Duration {
	var wait time.Duration
	if c := l.clients[k.clientKey]; c != nil && c.n >= l.PerClient {
		wait = c.start.Add(l.Window).Sub(now)
	}
	if a := l.addrs[k.addr]; a != nil && a.n >= l.PerAddress {
		wait = max(wait, a.start.Add(l.Window).Sub(now))
	}
	return wait
}

func (l *FailureLimiter) forgotten(p *pairFailures, now time.Time) bool {
	return now.Sub(p.last) >= p.wait+l.Window
}

// Fail records a failed authentication of clientID from addr.
func (l *FailureLimiter) Fail(tenant, clientID, addr string, now time.Time) {
	if l == nil {
		return
	}
	l.init()
	k := keyOf(tenant, clientID, addr)
	l.mu.Lock()
	defer l.mu.Unlock()
	p := l.pairs[k]
	if p != nil && l.forgotten(p, now) {
		*p = pairFailures{}
	}
	if p == nil {
		if len(l.pairs) >= l.MaxKeys {
			l.prune(now)
		}
		if len(l.pairs) >= l.MaxKeys {
			l.overflow = true
		} else {
			p = &pairFailures{}
			l.pairs[k] = p
			l.tracked.Add(1)
		}
	}
	if p != nil {
		p.n++
		p.last = now
		if over := p.n - l.FreeFailures; over > 0 {
			p.wait = min(time.Second<<min(over-1, 30), l.Window)
		}
	}
	count(l.clients, k.clientKey, now, l.Window, l.MaxKeys)
	count(l.addrs, k.addr, now, l.Window, l.MaxKeys)
}

// Succeed forgets the pair's failures: it has just presented the right credentials.
func (l *FailureLimiter) Succeed(tenant, clientID, addr string) {
	if l == nil || l.tracked.Load() == 0 {
		return
	}
	l.init()
	k := keyOf(tenant, clientID, addr)
	l.mu.RLock()
	_, ok := l.pairs[k]
	l.mu.RUnlock()
	if !ok {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.pairs[k]; ok {
		delete(l.pairs, k)
		l.tracked.Add(-1)
	}
}

func count[K comparable](m map[K]*windowCount, key K, now time.Time, window time.Duration, maxKeys int) {
	c := m[key]
	if c != nil && now.Sub(c.start) >= window {
		c.start, c.n = now, 0
	}
	if c == nil {
		if len(m) >= maxKeys {
			pruneWindows(m, now, window)
			if len(m) >= maxKeys {
				return
			}
		}
		c = &windowCount{start: now}
		m[key] = c
	}
	c.n++
}

func pruneWindows[K comparable](m map[K]*windowCount, now time.Time, window time.Duration) {
	for k, c := range m {
		if now.Sub(c.start) >= window {
			delete(m, k)
		}
	}
}

// prune forgets quiet pairs and ended windows; the caller holds mu.
func (l *FailureLimiter) prune(now time.Time) {
	for k, p := range l.pairs {
		if l.forgotten(p, now) {
			delete(l.pairs, k)
			l.tracked.Add(-1)
		}
	}
	pruneWindows(l.clients, now, l.Window)
	pruneWindows(l.addrs, now, l.Window)
	if len(l.pairs) < l.MaxKeys {
		l.overflow = false
	}
}

// Prune forgets quiet pairs and ended windows; run it now and then so that Check's fast
// path returns.
func (l *FailureLimiter) Prune(now time.Time) {
	l.init()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.prune(now)
}
