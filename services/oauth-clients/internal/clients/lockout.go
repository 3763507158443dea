package clients

import (
	"sync"
	"sync/atomic"
	"time"
)

// FailureLimiter resists brute force on client authentication. It counts failed
// authentications per client and per caller address in fixed windows; once either count
// reaches its limit, further attempts for that client, or from that address, are
// refused without checking credentials (which for a caller-chosen secret costs ~40 ms of
// argon2id) until the window ends.
//
// A locked client is locked for every address: a distributed guesser must not get more
// tries by spreading out. The price is that an attacker can hold a client's
// authentication up for a window at a time; the answer says when to retry, and a
// service that only ever presents its right secret never adds to the count.
//
// The counts live in each replica's memory: with N replicas an attacker gets at most N
// times the budget. Memory is bounded: past MaxKeys tracked keys, expired windows are
// dropped and, if that is not enough, new keys are not tracked until some expire.
type FailureLimiter struct {
	PerClient  int           // failures per window before a client is locked (default 10)
	PerAddress int           // failures per window before an address is locked (default 50)
	Window     time.Duration // default 1m
	MaxKeys    int           // per kind (default 100,000)

	mu      sync.Mutex
	clients map[string]*failures
	addrs   map[string]*failures
	// tracked lets Check skip the lock while nobody has failed recently: the common case
	// on the token endpoint's hot path.
	tracked atomic.Int64
}

type failures struct {
	start time.Time
	n     int
}

func (l *FailureLimiter) defaults() {
	if l.PerClient == 0 {
		l.PerClient = 10
	}
	if l.PerAddress == 0 {
		l.PerAddress = 50
	}
	if l.Window == 0 {
		l.Window = time.Minute
	}
	if l.MaxKeys == 0 {
		l.MaxKeys = 100_000
	}
	if l.clients == nil {
		l.clients, l.addrs = map[string]*failures{}, map[string]*failures{}
	}
}

func clientKey(tenant, clientID string) string {
	if len(clientID) > 128 {
		clientID = clientID[:128]
	}
	return tenant + "\x00" + clientID
}

// Check returns how long a caller must wait before trying to authenticate clientID of
// tenant from addr; zero means go ahead.
func (l *FailureLimiter) Check(tenant, clientID, addr string, now time.Time) time.Duration {
	if l == nil || l.tracked.Load() == 0 {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.defaults()
	wait := l.blocked(l.clients[clientKey(tenant, clientID)], l.PerClient, now)
	if w := l.blocked(l.addrs[addr], l.PerAddress, now); w > wait {
		wait = w
	}
	return wait
}

func (l *FailureLimiter) blocked(f *failures, limit int, now time.Time) time.Duration {
	if f == nil || f.n < limit {
		return 0
	}
	return max(f.start.Add(l.Window).Sub(now), 0)
}

// Fail records a failed authentication of clientID from addr.
func (l *FailureLimiter) Fail(tenant, clientID, addr string, now time.Time) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.defaults()
	l.count(l.clients, clientKey(tenant, clientID), now)
	l.count(l.addrs, addr, now)
}

func (l *FailureLimiter) count(m map[string]*failures, key string, now time.Time) {
	f := m[key]
	if f != nil && now.Sub(f.start) >= l.Window {
		f.start, f.n = now, 0
	}
	if f == nil {
		if len(m) >= l.MaxKeys {
			l.prune(m, now)
			if len(m) >= l.MaxKeys {
				return
			}
		}
		f = &failures{start: now}
		m[key] = f
		l.tracked.Add(1)
	}
	f.n++
}

func (l *FailureLimiter) prune(m map[string]*failures, now time.Time) {
	for k, f := range m {
		if now.Sub(f.start) >= l.Window {
			delete(m, k)
			l.tracked.Add(-1)
		}
	}
}

// Prune forgets ended windows; run it now and then so that Check's fast path returns.
func (l *FailureLimiter) Prune(now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.defaults()
	l.prune(l.clients, now)
	l.prune(l.addrs, now)
}
