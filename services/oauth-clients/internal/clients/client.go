// Package clients is the OAuth client registry's domain: what a client is, the rules its
// metadata obeys, how secrets are made and checked, and the use cases the HTTP layer calls.
package clients

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/iamplane/iam/pkg/errs"
)

// Client is a registered OAuth client (RFC 7591 metadata).
type Client struct {
	Tenant                  string
	ID                      string
	Name                    string
	Description             string
	GrantTypes              []string
	ResponseTypes           []string
	RedirectURIs            []string
	Scopes                  []string
	TokenEndpointAuthMethod string
	Public                  bool
	Audience                []string
	ClientURI               string
	LogoURI                 string
	PolicyURI               string
	TosURI                  string
	Trusted                 bool
	System                  bool
	CreatedBy               string
	UpdatedBy               string
	CreatedAt               time.Time
	UpdatedAt               time.Time
	Version                 int64
}

// SubjectID is the client's subject in tokens and in iam-subjects.
func (c *Client) SubjectID() string { return "client-" + c.ID }

// Metadata is what a caller may set on a client.
type Metadata struct {
	Name                    string
	Description             string
	GrantTypes              []string
	ResponseTypes           []string
	RedirectURIs            []string
	Scopes                  []string
	TokenEndpointAuthMethod string
	Public                  bool
	Audience                []string
	ClientURI               string
	LogoURI                 string
	PolicyURI               string
	TosURI                  string
	Trusted                 bool
}

// Apply validates m and writes it onto c, filling RFC 7591 defaults. Every broken rule
// is reported at once.
func (c *Client) Apply(m Metadata) error {
	if len(m.GrantTypes) == 0 {
		m.GrantTypes = []string{"client_credentials"}
	}
	if m.TokenEndpointAuthMethod == "" {
		m.TokenEndpointAuthMethod = "client_secret_basic"
		if m.Public {
			m.TokenEndpointAuthMethod = "none"
		}
	}
	var bad []errs.FieldError
	add := func(field, format string, args ...any) {
		bad = append(bad, errs.FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	if strings.TrimSpace(m.Name) == "" {
		add("clientName", "must not be blank")
	}
	if m.Public && m.TokenEndpointAuthMethod != "none" {
		add("tokenEndpointAuthMethod", "a public client authenticates with none")
	}
	if !m.Public && m.TokenEndpointAuthMethod == "none" {
		add("tokenEndpointAuthMethod", "a confidential client needs client_secret_basic or client_secret_post")
	}
	if m.Public && slices.Contains(m.GrantTypes, "client_credentials") {
		add("grantTypes", "a public client cannot use client_credentials")
	}
	if slices.Contains(m.GrantTypes, "authorization_code") && len(m.RedirectURIs) == 0 {
		add("redirectUris", "authorization_code needs at least one redirect URI")
	}
	for i, u := range m.RedirectURIs {
		if msg := checkRedirectURI(u); msg != "" {
			add(fmt.Sprintf("redirectUris.%d", i), "%s", msg)
		}
	}
	for field, u := range map[string]string{"clientUri": m.ClientURI, "logoUri": m.LogoURI, "policyUri": m.PolicyURI, "tosUri": m.TosURI} {
		if u != "" && !absoluteHTTP(u) {
			add(field, "must be an absolute http(s) URI")
		}
	}
	if dup := duplicate(m.Scopes); dup != "" {
		add("scopes", "scope %q is listed twice", dup)
	}
	if len(bad) > 0 {
		slices.SortFunc(bad, func(a, b errs.FieldError) int { return strings.Compare(a.Field, b.Field) })
		return errs.Fields("the client metadata is invalid", bad...)
	}
	c.Name, c.Description = strings.TrimSpace(m.Name), m.Description
	c.GrantTypes, c.ResponseTypes, c.RedirectURIs = m.GrantTypes, orEmpty(m.ResponseTypes), orEmpty(m.RedirectURIs)
	c.Scopes, c.Audience = orEmpty(m.Scopes), orEmpty(m.Audience)
	c.TokenEndpointAuthMethod, c.Public, c.Trusted = m.TokenEndpointAuthMethod, m.Public, m.Trusted
	c.ClientURI, c.LogoURI, c.PolicyURI, c.TosURI = m.ClientURI, m.LogoURI, m.PolicyURI, m.TosURI
	return nil
}

// checkRedirectURI applies RFC 6749 §3.1.2 and RFC 8252: absolute, no fragment, https
// except loopback (native apps) and private-use schemes.
func checkRedirectURI(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() {
		return "must be an absolute URI"
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return "must not contain a fragment"
	}
	if u.Scheme == "http" {
		host := u.Hostname()
		if host != "127.0.0.1" && host != "::1" && host != "localhost" {
			return "must use https (http only for loopback)"
		}
	}
	return ""
}

func absoluteHTTP(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != ""
}

func duplicate(xs []string) string {
	seen := make(map[string]bool, len(xs))
	for _, x := range xs {
		if seen[x] {
			return x
		}
		seen[x] = true
	}
	return ""
}

func orEmpty(xs []string) []string {
	if xs == nil {
		return []string{}
	}
	return xs
}

// NewID returns a fresh client id: 20 characters of lower-case base32, 100 random bits.
func NewID() string {
	b := make([]byte, 13)
	_, _ = rand.Read(b)
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))[:20]
}

// Page is a page of clients and the total across pages.
type Page struct {
	Clients []Client
	Total   int
}

// ListQuery filters and paginates a client listing.
type ListQuery struct {
	Search string
	Offset int
	Limit  int
}

// Store persists clients. Every write also records the client's event in the same
// transaction. Update loads the client FOR UPDATE and saves what change returns.
type Store interface {
	Create(ctx context.Context, c *Client, secret *Secret) error
	Get(ctx context.Context, tenant, id string) (*Client, error)
	List(ctx context.Context, tenant string, q ListQuery) (Page, error)
	Update(ctx context.Context, tenant, id string, change func(*Client) error) (*Client, error)
	Delete(ctx context.Context, tenant, id string, check func(*Client) error) error

	AddSecret(ctx context.Context, tenant, clientID string, s *Secret) error
	Secrets(ctx context.Context, tenant, clientID string) ([]Secret, error)
	DeleteSecret(ctx context.Context, tenant, clientID, secretID string) error
	// Credentials returns the client and its unexpired secrets, for authentication.
	Credentials(ctx context.Context, tenant, clientID string) (*Client, []Secret, error)
}

// UndefinedScopes is the refusal of a client that lists scopes its tenant does not
// define; it names each one. defined reports whether a listed scope is defined.
func UndefinedScopes(listed []string, defined func(string) bool) error {
	var bad []errs.FieldError
	for i, s := range listed {
		if !defined(s) {
			bad = append(bad, errs.FieldError{Field: fmt.Sprintf("scopes.%d", i), Message: fmt.Sprintf("unknown scope %q: define it first (POST /scopes)", s)})
		}
	}
	if len(bad) == 0 {
		return nil
	}
	return errs.Fields("the client lists scopes the tenant does not define", bad...)
}

// DropScope removes scope from the client, as a change by actor at now, when a forced
// deletion of its definition takes it away. It reports whether the client listed it.
func (c *Client) DropScope(scope, actor string, now time.Time) bool {
	i := slices.Index(c.Scopes, scope)
	if i < 0 {
		return false
	}
	c.Scopes = slices.Delete(slices.Clone(c.Scopes), i, i+1)
	c.Version++
	c.UpdatedBy, c.UpdatedAt = actor, now
	return true
}
