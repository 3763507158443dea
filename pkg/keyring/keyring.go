// Package keyring keeps a service's Ed25519 signing keys in its own database, shared by
// its replicas: oauth-clients signs access tokens, ID tokens and sign-in challenges with
// its ring; iam-subjects and consent sign the verdicts they hand back (package handshake).
// The public halves are published as a JWKS; rotation retires a key without breaking what
// it signed.
package keyring

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwk"

	"github.com/iamplane/iam/pkg/auth"
	"github.com/iamplane/iam/pkg/errs"
)

// Ring holds the Ed25519 signing keys. The newest unretired key signs; retired keys
// stay published until every token they signed has expired. Each replica reloads the
// ring periodically and on an unknown kid, so a rotation anywhere reaches all of them.
type Ring struct {
	store    Store
	tokenTTL time.Duration

	mu        sync.RWMutex
	active    signingKey
	public    map[string]ed25519.PublicKey
	loadedAt  time.Time
	reloading atomic.Bool
}

// New keeps the signing keys of tokens valid for tokenTTL in store. Call Load
// before using it.
func New(store Store, tokenTTL time.Duration) *Ring {
	return &Ring{store: store, tokenTTL: tokenTTL}
}

// StoredKey is a signing key as kept: its private half as an Ed25519 seed.
type StoredKey struct {
	Kid       string
	Seed      []byte
	CreatedAt time.Time
	RetiredAt *time.Time // nil for the active key
}

// Store keeps the ring's keys, shared by every replica. Its writes are serialized
// across replicas, so that replicas starting or rotating at once agree on one active key.
type Store interface {
	// AddFirst stores key as the active key unless there is one already.
	AddFirst(ctx context.Context, key StoredKey) error
	// Published returns the active key and those retired less than retiredWithin ago,
	// newest first.
	Published(ctx context.Context, retiredWithin time.Duration) ([]StoredKey, error)
	// Rotate retires the active key and stores key as the new one.
	Rotate(ctx context.Context, key StoredKey) error
	// RotateIfOlder does what Rotate does when the active key is older than age (or there
	// is none), and then deletes the keys retired more than purgeAfter ago; it does
	// nothing while another replica is at it. It reports whether it rotated.
	RotateIfOlder(ctx context.Context, age time.Duration, key StoredKey, purgeAfter time.Duration) (bool, error)
}

// Published keys outlive their retirement by a token lifetime and this margin (clock
// skew); their private halves are deleted a day after that.
const (
	publishMargin = time.Minute
	purgeMargin   = 24 * time.Hour
)

type signingKey struct {
	kid    string
	priv   ed25519.PrivateKey
	header []byte // the encoded JOSE header, the same for every token this key signs
}

func newSigningKey(kid string, priv ed25519.PrivateKey) signingKey {
	// The same header auth.Sign writes; encoded once per key rather than once per token.
	h, _ := json.Marshal(map[string]string{"alg": "EdDSA", "typ": auth.TokenType, "kid": kid})
	return signingKey{kid: kid, priv: priv, header: base64.RawURLEncoding.AppendEncode(nil, h)}
}

// Load reads the ring, creating the first key on the very first start.
func (k *Ring) Load(ctx context.Context) error {
	if err := k.store.AddFirst(ctx, newStoredKey()); err != nil {
		return fmt.Errorf("signing keys: %w", err)
	}
	return k.reload(ctx)
}

// newStoredKey makes a fresh key with a random 64-bit kid.
func newStoredKey() StoredKey {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		panic(err) // unreachable: crypto/rand.Reader never fails (Go 1.24)
	}
	kid := make([]byte, 8)
	_, _ = rand.Read(kid)
	return StoredKey{Kid: hex.EncodeToString(kid), Seed: priv.Seed()}
}

// reload reads every key still worth publishing: the active one and those retired less
// than a token lifetime ago.
func (k *Ring) reload(ctx context.Context) error {
	rows, err := k.store.Published(ctx, k.tokenTTL+publishMargin)
	if err != nil {
		return err
	}
	public := make(map[string]ed25519.PublicKey, len(rows))
	var active signingKey
	for _, r := range rows {
		priv := ed25519.NewKeyFromSeed(r.Seed)
		public[r.Kid] = priv.Public().(ed25519.PublicKey)
		if r.RetiredAt == nil && active.kid == "" {
			active = newSigningKey(r.Kid, priv)
		}
	}
	if active.kid == "" {
		return errs.E(errs.Unavailable, "no active signing key")
	}
	k.mu.Lock()
	k.active, k.public, k.loadedAt = active, public, time.Now()
	k.mu.Unlock()
	return nil
}

// Rotate makes a new key the signing key and retires the previous ones, on a platform
// admin's request; it returns the new key as JWKS publishes it.
func (k *Ring) Rotate(ctx context.Context) (jwk.Key, error) {
	if err := auth.Require(ctx, (*auth.Claims).PlatformAdmin, "only a platform admin (system tenant, services.iam) may rotate signing keys"); err != nil {
		return nil, err
	}
	key := newStoredKey()
	if err := k.store.Rotate(ctx, key); err != nil {
		return nil, err
	}
	if err := k.reload(ctx); err != nil {
		return nil, err
	}
	keys, err := k.JWKS(ctx)
	if err != nil {
		return nil, err
	}
	for _, jk := range keys {
		if kid, _ := jk.KeyID(); kid == key.Kid {
			return jk, nil
		}
	}
	return nil, errs.E(errs.Internal, "rotated key %s not published", key.Kid)
}

// refreshEvery is how often Refresh rereads the ring, so that a rotation on another
// replica is picked up here within it.
const refreshEvery = 30 * time.Second

// Refresh rereads the ring every refreshEvery until ctx ends, off the request path.
func (k *Ring) Refresh(ctx context.Context, logger *slog.Logger) error {
	t := time.NewTicker(refreshEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if err := k.reload(ctx); err != nil && ctx.Err() == nil {
				logger.Warn("signing keys not reloaded; keeping the current ones", "error", err)
			}
		}
	}
}

// RotateIfDue rotates the signing key when the active one is older than interval. Every
// replica calls it; the store lets one at a time look and act, so a key is rotated once
// per interval however many replicas run. Retired keys whose tokens have all expired are
// deleted with their private halves.
func (k *Ring) RotateIfDue(ctx context.Context, interval time.Duration) (bool, error) {
	rotated, err := k.store.RotateIfOlder(ctx, interval, newStoredKey(), k.tokenTTL+purgeMargin)
	if err != nil || !rotated {
		return false, err
	}
	return true, k.reload(ctx)
}

// Rotation runs RotateIfDue until ctx ends, checking every tenth of the interval (between
// a second and ten minutes), so a key is never much older than interval.
func (k *Ring) Rotation(ctx context.Context, interval time.Duration, logger *slog.Logger) error {
	check := min(max(interval/10, time.Second), 10*time.Minute)
	t := time.NewTicker(check)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			rotated, err := k.RotateIfDue(ctx, interval)
			switch {
			case err != nil && ctx.Err() == nil:
				logger.Warn("scheduled signing-key rotation failed; will retry", "error", err)
			case rotated:
				logger.Info("signing key rotated on schedule", "interval", interval.String())
			}
		}
	}
}

// Workers keep the ring current on every replica (Refresh) and, unless rotation is 0,
// rotate its key when it is older than rotation (Rotation): the background work every
// service that signs runs.
func (k *Ring) Workers(rotation time.Duration, logger *slog.Logger) []func(context.Context) error {
	ws := []func(context.Context) error{func(ctx context.Context) error { return k.Refresh(ctx, logger) }}
	if rotation > 0 {
		ws = append(ws, func(ctx context.Context) error { return k.Rotation(ctx, rotation, logger) })
	}
	return ws
}

// signer returns the current signing key. Refresh keeps the ring current; should it have
// stalled, one request (never all of them at once) reloads inline.
func (k *Ring) signer(ctx context.Context) (signingKey, error) {
	k.mu.RLock()
	active, age := k.active, time.Since(k.loadedAt)
	k.mu.RUnlock()
	if age > 4*refreshEvery && k.reloading.CompareAndSwap(false, true) {
		defer k.reloading.Store(false)
		if err := k.reload(ctx); err != nil && active.kid == "" {
			return active, err
		}
		k.mu.RLock()
		active = k.active
		k.mu.RUnlock()
	}
	return active, nil
}

// PublicKey makes the ring an auth.KeySource, so oauth-clients verifies tokens without
// fetching its own JWKS over HTTP.
func (k *Ring) PublicKey(ctx context.Context, kid string) (crypto.PublicKey, error) {
	k.mu.RLock()
	key, ok := k.public[kid]
	age := time.Since(k.loadedAt)
	k.mu.RUnlock()
	if ok {
		return key, nil
	}
	if age > time.Second {
		if err := k.reload(ctx); err != nil {
			return nil, err
		}
		k.mu.RLock()
		key, ok = k.public[kid]
		k.mu.RUnlock()
		if ok {
			return key, nil
		}
	}
	return nil, errs.E(errs.Unauthorized, "invalid access token: unknown signing key %q", kid)
}

// JWKS returns the published keys as JWKs.
func (k *Ring) JWKS(ctx context.Context) ([]jwk.Key, error) {
	if _, err := k.signer(ctx); err != nil {
		return nil, err
	}
	k.mu.RLock()
	defer k.mu.RUnlock()
	keys := make([]jwk.Key, 0, len(k.public))
	for kid, pub := range k.public {
		jk, err := jwk.Import(pub)
		if err != nil {
			return nil, err
		}
		_ = jk.Set(jwk.KeyIDKey, kid)
		_ = jk.Set(jwk.AlgorithmKey, "EdDSA")
		_ = jk.Set(jwk.KeyUsageKey, "sig")
		keys = append(keys, jk)
	}
	return keys, nil
}

// SignJWT signs claims (any JSON object) as a compact JWS with header typ, for what is
// not an access token: ID tokens, sign-in challenges and verdicts.
func (k *Ring) SignJWT(ctx context.Context, typ string, claims any) (string, error) {
	key, err := k.signer(ctx)
	if err != nil {
		return "", err
	}
	return auth.SignJWS(typ, key.kid, key.priv, claims)
}

// Sign signs claims with the active key. The token is what auth.Sign makes, assembled in
// one buffer: this is the token endpoint's hot path.
func (k *Ring) Sign(ctx context.Context, claims auth.Claims) (string, error) {
	key, err := k.signer(ctx)
	if err != nil {
		return "", err
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	enc := base64.RawURLEncoding
	buf := make([]byte, 0, len(key.header)+2+enc.EncodedLen(len(payload))+enc.EncodedLen(ed25519.SignatureSize))
	buf = append(buf, key.header...)
	buf = append(buf, '.')
	buf = enc.AppendEncode(buf, payload)
	sig := ed25519.Sign(key.priv, buf)
	buf = append(buf, '.')
	buf = enc.AppendEncode(buf, sig)
	return string(buf), nil
}
