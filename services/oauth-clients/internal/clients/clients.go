// Package clients is the OAuth client registry's domain: what a client is, the rules its
// metadata obeys, how secrets are made and checked, and the use cases the HTTP layer calls.
package clients

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/iamplane/iam/pkg/errs"
)

// Client is a registered OAuth client (RFC 7591 metadata).
type Client struct {
	Tenant        string
	ID            string
	Name          string
	Description   string
	GrantTypes    []string
	ResponseTypes []string
	RedirectURIs  []string
	// PostLogoutRedirectURIs are where RP-initiated logout may send the browser.
	PostLogoutRedirectURIs []string
	// ConsentActionID names the consent action (in consent) whose consents the consent
	// screen asks for when a person authorizes the client.
	ConsentActionID         string
	Scopes                  []string
	TokenEndpointAuthMethod string
	Public                  bool
	Audience                []string
	ClientURI               string
	LogoURI                 string
	PolicyURI               string
	TosURI                  string
	JWKS                    json.RawMessage // the client's public keys, for private_key_jwt
	JWKSURI                 string
	Privacy                 map[string]PrivacyPurpose // by scope
	Trusted                 bool
	System                  bool
	// DeveloperID owns a client registered through developer self-service or dynamic
	// registration: that developer (a token subject) may see and manage it.
	DeveloperID string
	CreatedBy   string
	UpdatedBy   string
	// RegistrationTokenHash is the SHA-256 of the RFC 7592 registration access token of
	// a dynamically registered client; it never leaves the service.
	RegistrationTokenHash string
	CreatedAt             time.Time
	UpdatedAt             time.Time
	Version               int64
}

// PrivacyPurpose says why a client wants a scope and which categories of personal data
// it touches (Cloudentity's privacy purposes).
type PrivacyPurpose struct {
	Purpose       string
	PIICategories []string
}

// NeedsSecret reports whether the client authenticates with a shared secret.
func (c *Client) NeedsSecret() bool {
	return c.TokenEndpointAuthMethod == "client_secret_basic" || c.TokenEndpointAuthMethod == "client_secret_post"
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
	PostLogoutRedirectURIs  []string
	ConsentActionID         string
	Scopes                  []string
	TokenEndpointAuthMethod string
	Public                  bool
	Audience                []string
	ClientURI               string
	LogoURI                 string
	PolicyURI               string
	TosURI                  string
	JWKS                    json.RawMessage
	JWKSURI                 string
	Privacy                 map[string]PrivacyPurpose
	Trusted                 bool
}

// GrantTypes are the grant types a client may have: the token endpoint's. The native
// spec's enum says so too; the seed dialects (Aritma's allowedGrantTypes, Cloudentity's
// grant_types) pass any string, which this refuses by name rather than store a grant the
// token endpoint never honours (password, implicit, ...).
var GrantTypes = []string{"client_credentials", "authorization_code", "refresh_token", "urn:ietf:params:oauth:grant-type:jwt-bearer"}

// Bounds on the lists in client metadata, whichever way it arrives (admin, developer,
// dynamic registration): the audience goes into every token the client gets (a verifier
// refuses an oversized one), and every list is stored, cached on each replica and sent
// in the client's events.
const (
	maxAudience      = 20
	maxAudienceLen   = 256
	maxRedirectURIs  = 50
	maxURILen        = 2000
	maxScopes        = 200
	maxTypes         = 10 // grant types, response types
	maxPIICategories = 50
)

// Apply validates m and writes it onto c, filling RFC 7591 defaults. Every broken rule
// is reported at once.
func (c *Client) Apply(m Metadata) error {
	if len(m.GrantTypes) == 0 {
		m.GrantTypes = []string{"client_credentials"}
	}
	if len(m.ResponseTypes) == 0 && slices.Contains(m.GrantTypes, "authorization_code") {
		m.ResponseTypes = []string{"code"} // RFC 7591 §2.1: the code grant goes with the code response type
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
	// An oversized list is refused as a whole, before its entries are looked at.
	tooLong := func(field string, xs []string, maxItems, maxLen int) bool {
		if len(xs) > maxItems {
			add(field, "at most %d entries (%d given)", maxItems, len(xs))
			return true
		}
		for i, x := range xs {
			if len(x) > maxLen {
				add(fmt.Sprintf("%s.%d", field, i), "at most %d characters", maxLen)
			}
		}
		return false
	}
	tooLong("audience", m.Audience, maxAudience, maxAudienceLen)
	tooLong("scopes", m.Scopes, maxScopes, 128)
	tooLong("grantTypes", m.GrantTypes, maxTypes, 100)
	tooLong("responseTypes", m.ResponseTypes, maxTypes, 100)
	manyRedirects := tooLong("redirectUris", m.RedirectURIs, maxRedirectURIs, maxURILen)
	manyLogoutRedirects := tooLong("postLogoutRedirectUris", m.PostLogoutRedirectURIs, maxRedirectURIs, maxURILen)
	if len(m.ConsentActionID) > 64 {
		add("consentActionId", "at most 64 characters")
	}
	if len(m.Privacy) > maxScopes {
		add("privacy.scopes", "at most %d entries (%d given)", maxScopes, len(m.Privacy))
		m.Privacy = nil // not looked at further
	}
	for scope, p := range m.Privacy {
		if len(p.PIICategories) > maxPIICategories {
			add("privacy.scopes."+scope+".piiCategories", "at most %d entries (%d given)", maxPIICategories, len(p.PIICategories))
		}
	}
	if m.Public && m.TokenEndpointAuthMethod != "none" {
		add("tokenEndpointAuthMethod", "a public client authenticates with none")
	}
	if !m.Public && m.TokenEndpointAuthMethod == "none" {
		add("tokenEndpointAuthMethod", "a confidential client needs client_secret_basic, client_secret_post or private_key_jwt")
	}
	switch {
	case m.TokenEndpointAuthMethod == "private_key_jwt" && len(m.JWKS) == 0 && m.JWKSURI == "":
		add("jwks", "private_key_jwt needs the client's public keys in jwks or jwksUri")
	case len(m.JWKS) > 0 && m.JWKSURI != "":
		add("jwksUri", "give jwks or jwksUri, not both (RFC 7591 §2)")
	}
	if len(m.JWKS) > 0 {
		if _, err := ParseJWKS(m.JWKS); err != nil {
			add("jwks", "%s", err.Error())
		}
	}
	if m.JWKSURI != "" {
		if u, err := url.Parse(m.JWKSURI); err != nil || u.Scheme != "https" || u.Host == "" || u.Fragment != "" {
			add("jwksUri", "must be an absolute https URL")
		}
	}
	for i, g := range m.GrantTypes {
		if !slices.Contains(GrantTypes, g) {
			add(fmt.Sprintf("grantTypes.%d", i), "unsupported grant type %q (supported: %s)", g, strings.Join(GrantTypes, ", "))
		}
	}
	if slices.Contains(m.GrantTypes, "refresh_token") && !slices.Contains(m.GrantTypes, "authorization_code") {
		add("grantTypes", "refresh_token goes with authorization_code; client_credentials must not get refresh tokens (RFC 6749 §4.4.3)")
	}
	for _, rt := range m.ResponseTypes {
		switch rt {
		case "code":
			if !slices.Contains(m.GrantTypes, "authorization_code") {
				add("responseTypes", "response type code needs the authorization_code grant (RFC 7591 §2.1)")
			}
		case "token", "id_token":
			add("responseTypes", "response type %s needs the implicit grant, which this server does not offer", rt)
		}
	}
	for scope, p := range m.Privacy {
		if !slices.Contains(m.Scopes, scope) {
			add("privacy.scopes."+scope, "names a scope the client does not list")
		}
		if strings.TrimSpace(p.Purpose) == "" {
			add("privacy.scopes."+scope+".purpose", "must not be blank")
		}
		for i, cat := range p.PIICategories {
			if strings.TrimSpace(cat) == "" {
				add(fmt.Sprintf("privacy.scopes.%s.piiCategories.%d.name", scope, i), "must not be blank")
			}
		}
	}
	if m.Public && slices.Contains(m.GrantTypes, "client_credentials") {
		add("grantTypes", "a public client cannot use client_credentials")
	}
	if slices.Contains(m.GrantTypes, "authorization_code") && len(m.RedirectURIs) == 0 {
		add("redirectUris", "authorization_code needs at least one redirect URI")
	}
	for i, u := range m.RedirectURIs {
		if manyRedirects {
			break
		}
		if msg := checkRedirectURI(u); msg != "" {
			add(fmt.Sprintf("redirectUris.%d", i), "%s", msg)
		}
	}
	for i, u := range m.PostLogoutRedirectURIs {
		if manyLogoutRedirects {
			break
		}
		if msg := checkRedirectURI(u); msg != "" {
			add(fmt.Sprintf("postLogoutRedirectUris.%d", i), "%s", msg)
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
	c.PostLogoutRedirectURIs, c.ConsentActionID = orEmpty(m.PostLogoutRedirectURIs), m.ConsentActionID
	c.Scopes, c.Audience = orEmpty(m.Scopes), orEmpty(m.Audience)
	c.TokenEndpointAuthMethod, c.Public, c.Trusted = m.TokenEndpointAuthMethod, m.Public, m.Trusted
	c.ClientURI, c.LogoURI, c.PolicyURI, c.TosURI = m.ClientURI, m.LogoURI, m.PolicyURI, m.TosURI
	c.JWKS, c.JWKSURI, c.Privacy = m.JWKS, m.JWKSURI, m.Privacy
	return nil
}

// Metadata returns what a caller may set on c, as it is now.
func (c *Client) Metadata() Metadata {
	return Metadata{Name: c.Name, Description: c.Description, GrantTypes: c.GrantTypes, ResponseTypes: c.ResponseTypes,
		RedirectURIs: c.RedirectURIs, PostLogoutRedirectURIs: c.PostLogoutRedirectURIs, ConsentActionID: c.ConsentActionID, Scopes: c.Scopes, TokenEndpointAuthMethod: c.TokenEndpointAuthMethod, Public: c.Public,
		Audience: c.Audience, ClientURI: c.ClientURI, LogoURI: c.LogoURI, PolicyURI: c.PolicyURI, TosURI: c.TosURI,
		JWKS: c.JWKS, JWKSURI: c.JWKSURI, Privacy: c.Privacy, Trusted: c.Trusted}
}

// checkRedirectURI applies RFC 6749 §3.1.2 and RFC 8252: absolute, no fragment, https
// except loopback (native apps) and private-use schemes. User information
// (https://app.example@evil.example/) is refused: it only ever serves to make an address
// look like another.
func checkRedirectURI(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() {
		return "must be an absolute URI"
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return "must not contain a fragment"
	}
	if u.User != nil {
		return "must not contain user information (user@host)"
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
	Search    string
	Developer string // only this developer's clients
	// DevelopersOnly keeps only clients some developer owns.
	DevelopersOnly bool
	Offset         int
	Limit          int
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
	// UseAssertion records a client assertion's jti until expiresAt and reports whether
	// it was fresh (RFC 7523: each assertion is used once).
	UseAssertion(ctx context.Context, tenant, clientID, jti string, expiresAt time.Time) (bool, error)
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
	if _, ok := c.Privacy[scope]; ok {
		c.Privacy = maps.Clone(c.Privacy)
		delete(c.Privacy, scope)
	}
	c.Version++
	c.UpdatedBy, c.UpdatedAt = actor, now
	return true
}
