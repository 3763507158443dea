package clients

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"

	"github.com/iamplane/iam/pkg/egress"
)

// publicKey is one public key of a client, with the JWS algorithms it may verify.
type publicKey struct {
	kid  string
	key  crypto.PublicKey
	algs []string
}

// maxClientKeys caps a client's key set.
const maxClientKeys = 10

// ParseJWKS reads a client's public key set: one to ten keys, each public, each RSA
// (2048 bits or more), EC P-256 or Ed25519. A private key is refused outright: whoever
// sent one has leaked it.
func ParseJWKS(raw []byte) ([]publicKey, error) {
	set, err := jwk.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("not a JWK set: %v", err)
	}
	if set.Len() == 0 || set.Len() > maxClientKeys {
		return nil, fmt.Errorf("must hold 1 to %d keys", maxClientKeys)
	}
	keys := make([]publicKey, 0, set.Len())
	for i := 0; i < set.Len(); i++ {
		k, _ := set.Key(i)
		if private, _ := jwk.IsPrivateKey(k); private {
			return nil, fmt.Errorf("key %d is a private key: send only public keys, and replace this one", i)
		}
		var raw any
		if err := jwk.Export(k, &raw); err != nil {
			return nil, fmt.Errorf("key %d: %v", i, err)
		}
		kid, _ := k.KeyID()
		ck := publicKey{kid: kid}
		switch pub := raw.(type) {
		case *rsa.PublicKey:
			if pub.N.BitLen() < 2048 {
				return nil, fmt.Errorf("key %d: RSA keys need at least 2048 bits", i)
			}
			ck.key, ck.algs = pub, []string{"RS256", "PS256"}
		case *ecdsa.PublicKey:
			if pub.Curve != elliptic.P256() {
				return nil, fmt.Errorf("key %d: only the P-256 curve is supported", i)
			}
			ck.key, ck.algs = pub, []string{"ES256"}
		case ed25519.PublicKey:
			ck.key, ck.algs = pub, []string{"EdDSA"}
		default:
			return nil, fmt.Errorf("key %d: unsupported key type %T", i, raw)
		}
		if alg, ok := k.Algorithm(); ok && alg.String() != "" {
			if !slices.Contains(ck.algs, alg.String()) {
				return nil, fmt.Errorf("key %d: algorithm %s is not supported for this key", i, alg)
			}
			ck.algs = []string{alg.String()}
		}
		keys = append(keys, ck)
	}
	return keys, nil
}

// AssertionAlgs are the JWS algorithms a client assertion may use.
var AssertionAlgs = []string{"RS256", "PS256", "ES256", "EdDSA"}

var jwsAlgs = map[string]jwa.SignatureAlgorithm{"RS256": jwa.RS256(), "PS256": jwa.PS256(), "ES256": jwa.ES256(), "EdDSA": jwa.EdDSA()}

// verifyAssertion checks token's signature against keys: an allowed alg, the key named by
// kid (or, without a kid, any key that takes the alg). It returns the payload.
func verifyAssertion(token string, keys []publicKey) ([]byte, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 || len(parts[0]) > 1024 {
		return nil, errors.New("not a compact JWS")
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		return nil, errors.New("header is not base64url")
	}
	var h struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
	}
	if err := json.Unmarshal(raw, &h); err != nil {
		return nil, errors.New("header is not JSON")
	}
	alg, ok := jwsAlgs[h.Alg]
	if !ok {
		return nil, fmt.Errorf("algorithm %q not allowed", h.Alg)
	}
	for _, k := range keys {
		if (h.Kid != "" && k.kid != h.Kid) || !slices.Contains(k.algs, h.Alg) {
			continue
		}
		if payload, err := jws.VerifyCompactFast(k.key, []byte(token), alg); err == nil {
			return payload, nil
		}
	}
	return nil, errors.New("no registered key verifies the signature")
}

// RemoteKeys fetches clients' key sets from their jwksUri through the egress guard
// (https only, no internal address even after DNS resolution, no redirects, bounded
// time and size); cached for MaxAge, and refetched (at most every MinRefresh) when no
// cached key verifies, so that a client's key rotation is picked up. A failed fetch is
// remembered for FailureTTL: an unauthenticated token request naming such a client
// must not make the server connect out again and again.
type RemoteKeys struct {
	Guard      *egress.Guard
	MaxAge     time.Duration // default 5m
	MinRefresh time.Duration // default 10s
	FailureTTL time.Duration // default 1m

	mu     sync.Mutex
	sets   map[string]*remoteSet
	failed map[string]failedFetch
}

type remoteSet struct {
	keys    []publicKey
	fetched time.Time
}

type failedFetch struct {
	err error
	at  time.Time
}

// CheckURL refuses a jwksUri the guard would never fetch from (not https, an internal
// address literal, localhost), so registration can say so at once.
func (r *RemoteKeys) CheckURL(uri string) error {
	if r == nil || uri == "" {
		return nil
	}
	return r.guard().CheckURL(uri)
}

func (r *RemoteKeys) guard() *egress.Guard {
	if r.Guard == nil {
		r.Guard = &egress.Guard{}
	}
	return r.Guard
}

// Keys returns the key set at uri; refresh asks for a fresh copy if the cached one is
// older than MinRefresh.
func (r *RemoteKeys) Keys(ctx context.Context, uri string, refresh bool) ([]publicKey, error) {
	maxAge, minRefresh, failureTTL := r.MaxAge, r.MinRefresh, r.FailureTTL
	if maxAge == 0 {
		maxAge = 5 * time.Minute
	}
	if minRefresh == 0 {
		minRefresh = 10 * time.Second
	}
	if failureTTL == 0 {
		failureTTL = time.Minute
	}
	r.mu.Lock()
	cached, failed := r.sets[uri], r.failed[uri]
	g := r.guard()
	r.mu.Unlock()
	if cached != nil {
		age := time.Since(cached.fetched)
		if age < maxAge && (!refresh || age < minRefresh) {
			return cached.keys, nil
		}
	}
	if cached == nil && failed.err != nil && time.Since(failed.at) < failureTTL {
		return nil, failed.err
	}
	keys, err := r.fetch(ctx, g, uri)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		if r.failed == nil {
			r.failed = map[string]failedFetch{}
		}
		r.failed[uri] = failedFetch{err: err, at: time.Now()}
		if cached != nil {
			return cached.keys, nil // keep using what we had while the client's server is away
		}
		return nil, err
	}
	if r.sets == nil {
		r.sets = map[string]*remoteSet{}
	}
	r.sets[uri] = &remoteSet{keys: keys, fetched: time.Now()}
	delete(r.failed, uri)
	return keys, nil
}

func (r *RemoteKeys) fetch(ctx context.Context, g *egress.Guard, uri string) ([]publicKey, error) {
	body, err := g.Get(ctx, uri)
	if err != nil {
		return nil, err
	}
	return ParseJWKS(body)
}
