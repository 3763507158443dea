package auth

import (
	"context"
	"crypto"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwk"

	"github.com/iamplane/iam/pkg/errs"
)

// RemoteJWKS is a KeySource backed by the issuer's JWKS endpoint. Keys are cached; an
// unknown kid triggers a refetch (at most once per MinRefresh, so a flood of forged kids
// cannot turn into a flood of fetches), and the set is refreshed every MaxAge anyway.
type RemoteJWKS struct {
	URL        string
	Client     *http.Client
	MinRefresh time.Duration // default 5s
	MaxAge     time.Duration // default 5m

	mu      sync.Mutex
	keys    map[string]crypto.PublicKey
	fetched time.Time
}

// PublicKey returns the key with id kid.
func (r *RemoteJWKS) PublicKey(ctx context.Context, kid string) (crypto.PublicKey, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	minRefresh, maxAge := r.MinRefresh, r.MaxAge
	if minRefresh == 0 {
		minRefresh = 5 * time.Second
	}
	if maxAge == 0 {
		maxAge = 5 * time.Minute
	}
	key, ok := r.keys[kid]
	stale := time.Since(r.fetched) > maxAge
	if ok && !stale {
		return key, nil
	}
	if stale || time.Since(r.fetched) > minRefresh {
		keys, err := r.fetch(ctx)
		if err != nil {
			if ok {
				return key, nil // keep serving a known key while the issuer is briefly away
			}
			return nil, errs.Wrap(errs.Unavailable, err, "cannot fetch the issuer's signing keys")
		}
		r.keys, r.fetched = keys, time.Now()
		if key, ok := keys[kid]; ok {
			return key, nil
		}
	}
	return nil, errs.E(errs.Unauthorized, "invalid access token: unknown signing key %q", kid)
}

func (r *RemoteJWKS) fetch(ctx context.Context) (map[string]crypto.PublicKey, error) {
	client := r.Client
	if client == nil {
		client = &http.Client{Timeout: 5 * time.Second}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.URL, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("jwks %s: status %d", r.URL, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	return ParseJWKS(body)
}

// ParseJWKS decodes a JWK set into public keys by kid.
func ParseJWKS(body []byte) (map[string]crypto.PublicKey, error) {
	set, err := jwk.Parse(body)
	if err != nil {
		return nil, fmt.Errorf("parse jwks: %w", err)
	}
	keys := make(map[string]crypto.PublicKey, set.Len())
	for i := 0; i < set.Len(); i++ {
		k, _ := set.Key(i)
		kid, ok := k.KeyID()
		if !ok {
			continue
		}
		var raw any
		if err := jwk.Export(k, &raw); err != nil {
			return nil, fmt.Errorf("jwks key %s: %w", kid, err)
		}
		keys[kid] = raw
	}
	return keys, nil
}
