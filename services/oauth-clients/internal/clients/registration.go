package clients

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"slices"
	"strings"

	"github.com/iamplane/iam/pkg/errs"
	"github.com/iamplane/iam/pkg/precondition"
)

// Registration is a dynamically registered client (RFC 7591) with what the answer to
// its registration shows once: its secret, if it has one, and its registration access
// token.
type Registration struct {
	Client      *Client
	Secret      *Secret
	AccessToken string
}

// What dynamic registration accepts; the admin API's enums say the same.
var (
	registrableGrants    = []string{"client_credentials", "authorization_code", "refresh_token", "urn:ietf:params:oauth:grant-type:jwt-bearer"}
	registrableResponses = []string{"code", "token", "id_token", "none"}
	registrableMethods   = []string{"client_secret_basic", "client_secret_post", "private_key_jwt", "none", ""}
)

// registrable completes RFC 7591 metadata (client_name is optional there; a client
// authenticating with "none" is public) and refuses, naming the first, a grant type,
// response type or authentication method dynamic registration does not offer.
func registrable(m *Metadata) error {
	if strings.TrimSpace(m.Name) == "" {
		m.Name = "Dynamically registered client"
	}
	m.Public = m.TokenEndpointAuthMethod == "none"
	for _, check := range []struct {
		field   string
		values  []string
		allowed []string
	}{{"grantTypes", m.GrantTypes, registrableGrants}, {"responseTypes", m.ResponseTypes, registrableResponses},
		{"tokenEndpointAuthMethod", []string{m.TokenEndpointAuthMethod}, registrableMethods}} {
		for _, v := range check.values {
			if !slices.Contains(check.allowed, v) {
				return errs.Fields("the client metadata is not registrable", errs.FieldError{Field: check.field, Message: v + " is not supported"})
			}
		}
	}
	return nil
}

func hashRegistrationToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// Register registers a client on behalf of the bearer of an initial access token, who
// becomes its developer: the self-service rules apply unless the bearer is an admin.
// The registration access token (RFC 7592) is 256 random bits, stored as its SHA-256.
func (r *Registry) Register(ctx context.Context, tenant string, m Metadata, who Caller) (*Registration, error) {
	if err := registrable(&m); err != nil {
		return nil, err
	}
	if err := r.checkDeveloper(ctx, tenant, who, m, nil); err != nil {
		return nil, err
	}
	token := "rat_" + base64.RawURLEncoding.EncodeToString(randomBytes(32))
	c, secret, err := r.create(ctx, tenant, m, who.Subject, who.Subject, hashRegistrationToken(token))
	if err != nil {
		return nil, err
	}
	return &Registration{Client: c, Secret: secret, AccessToken: token}, nil
}

// badRegistrationToken is the one answer to a missing or wrong registration access token,
// whether or not the client exists.
func badRegistrationToken() error {
	return errs.E(errs.Unauthorized, "the registration access token is not valid for this client")
}

func checkRegistrationToken(c *Client, token string) error {
	if c.RegistrationTokenHash == "" || token == "" ||
		subtle.ConstantTimeCompare([]byte(c.RegistrationTokenHash), []byte(hashRegistrationToken(token))) != 1 {
		return badRegistrationToken()
	}
	return nil
}

// Registered returns the client whose registration access token is token.
func (r *Registry) Registered(ctx context.Context, tenant, id, token string) (*Client, error) {
	c, err := r.store.Get(ctx, tenant, id)
	if errs.Is(err, errs.NotFound) {
		return nil, badRegistrationToken()
	}
	if err != nil {
		return nil, err
	}
	if err := checkRegistrationToken(c, token); err != nil {
		return nil, err
	}
	return c, nil
}

// UpdateRegistered replaces a registered client's metadata (RFC 7592 §2.2); claimedID is
// the client_id the request names, if it does. The bearer acts as the client's
// developer: it may not add scopes its developer could not. A wrong token is refused
// before anything about the request.
func (r *Registry) UpdateRegistered(ctx context.Context, tenant, id, token string, claimedID *string, m Metadata) (*Client, error) {
	defer r.cache.Invalidate(tenant, id)
	c, err := r.store.Update(ctx, tenant, id, func(c *Client) error {
		if err := checkRegistrationToken(c, token); err != nil {
			return err
		}
		if claimedID != nil && *claimedID != id {
			return errs.E(errs.Invalid, "client_id does not match the registration")
		}
		if err := registrable(&m); err != nil {
			return err
		}
		m.Trusted = c.Trusted // not registration metadata: kept as an admin set it
		if err := r.checkDeveloper(ctx, tenant, Caller{Subject: c.DeveloperID}, m, c.Scopes); err != nil {
			return err
		}
		// RFC 7592 has no versions: the registration access token is the authority.
		return r.change(c, m, precondition.Version{Body: &c.Version}, c.SubjectID())
	})
	if errs.Is(err, errs.NotFound) {
		return nil, badRegistrationToken()
	}
	return c, err
}

// DeleteRegistered deletes a registered client (RFC 7592 §2.3).
func (r *Registry) DeleteRegistered(ctx context.Context, tenant, id, token string) error {
	defer r.cache.Invalidate(tenant, id)
	err := r.store.Delete(ctx, tenant, id, func(c *Client) error {
		if err := checkRegistrationToken(c, token); err != nil {
			return err
		}
		return deletable(c, id)
	})
	if errs.Is(err, errs.NotFound) {
		return badRegistrationToken()
	}
	return err
}
