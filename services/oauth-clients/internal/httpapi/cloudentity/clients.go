// Package cloudentity serves Cloudentity's admin and developer APIs for clients and scopes
// (openapi/dialects/cloudentity-oauth-clients.yaml): it translates the seed's snake_case
// shapes to the registries' use cases, the same ones the native handlers call, and back.
package cloudentity

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/iamplane/iam/pkg/errs"

	"github.com/iamplane/iam/services/oauth-clients/api/cloudentity"
	"github.com/iamplane/iam/services/oauth-clients/internal/clients"
	"github.com/iamplane/iam/services/oauth-clients/internal/httpapi"
	"github.com/iamplane/iam/services/oauth-clients/internal/scopes"
)

// Server implements the dialect's generated strict server interface.
type Server struct {
	clients *clients.Registry
	scopes  *scopes.Registry
}

// NewServer serves the client and scope registries in Cloudentity's dialect.
func NewServer(clientRegistry *clients.Registry, scopeRegistry *scopes.Registry) *Server {
	return &Server{clients: clientRegistry, scopes: scopeRegistry}
}

var _ cloudentity.StrictServerInterface = (*Server)(nil)

// fields are the seed's names for the native fields a refusal may name.
var fields = map[string]string{
	"clientId": "client_id", "clientSecret": "client_secret", "clientName": "client_name", "grantTypes": "grant_types",
	"responseTypes": "response_types", "redirectUris": "redirect_uris", "postLogoutRedirectUris": "post_logout_redirect_uris",
	"tokenEndpointAuthMethod": "token_endpoint_auth_method", "jwksUri": "jwks_uri", "clientUri": "client_uri",
	"logoUri": "logo_uri", "policyUri": "policy_uri", "tosUri": "tos_uri", "createdAt": "client_id_issued_at",
	"userPolicyId": "user_policy_id", "developerPolicyId": "developer_policy_id", "displayName": "display_name",
}

// renamed gives a refusal the seed's field names; privacy.scopes.<s>.piiCategories becomes
// privacy.scopes.<s>.pii_categories.
func renamed(err error) error {
	err = httpapi.RenameFields(err, fields)
	var e *errs.Error
	if errors.As(err, &e) {
		for i := range e.Fields {
			e.Fields[i].Field = strings.ReplaceAll(e.Fields[i].Field, "piiCategories", "pii_categories")
		}
	}
	return err
}

// remarshal copies one of the seed's client shapes into another: the developer's request
// and answer shapes are subsets of the admin's Client.
func remarshal(from, to any) {
	b, _ := json.Marshal(from)
	_ = json.Unmarshal(b, to)
}

// checks collects the refusals of a body's fields, by the seed's names.
type checks []errs.FieldError

func (c *checks) add(field, format string, args ...any) {
	*c = append(*c, errs.FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

// only refuses a field whose value is not one of those the platform has.
func (c *checks) only(field string, v *string, allowed ...string) {
	if v == nil || *v == "" || slices.Contains(allowed, *v) {
		return
	}
	if len(allowed) == 0 {
		c.add(field, "not supported here; only empty is accepted")
		return
	}
	c.add(field, "not supported here; only %q (or empty) is accepted", strings.Join(allowed, `" or "`))
}

func (c *checks) err() error {
	if len(*c) == 0 {
		return nil
	}
	slices.SortFunc(*c, func(a, b errs.FieldError) int { return strings.Compare(a.Field, b.Field) })
	return errs.Fields("the client has fields this platform does not support", *c...)
}

// existing is what a PUT's read-only fields are compared with: the client as stored.
type existing struct {
	id, developer string
	createdAt     time.Time
	system        bool
}

// metadataFrom translates a Cloudentity client into the native metadata. Fields the
// platform does not model are accepted only with their empty value; read-only ones only
// with their current value (ex nil: a new client, whose client_id, client_secret,
// developer_id and client_id_issued_at the caller may choose, as Import keeps them).
func metadataFrom(in *cloudentity.Client, tenant string, ex *existing) (clients.Metadata, clients.Chosen, error) {
	var bad checks
	d := httpapi.Deref[string]
	bad.only("authorization_server_id", in.AuthorizationServerId, "default", tenant)
	bad.only("tenant_id", in.TenantId, tenant)
	bad.only("client_hashed_secret", in.ClientHashedSecret)
	bad.only("request_object_signing_alg", in.RequestObjectSigningAlg, "none")
	bad.only("userinfo_signed_response_alg", in.UserinfoSignedResponseAlg, "none")
	bad.only("sector_identifier_uri", in.SectorIdentifierUri)
	bad.only("token_endpoint_signing_alg", in.TokenEndpointSigningAlg)
	for field, v := range map[string]*string{"tls_client_auth_san_dns": in.TlsClientAuthSanDns, "tls_client_auth_san_email": in.TlsClientAuthSanEmail,
		"tls_client_auth_san_ip": in.TlsClientAuthSanIp, "tls_client_auth_san_uri": in.TlsClientAuthSanUri, "tls_client_auth_subject_dn": in.TlsClientAuthSubjectDn} {
		bad.only(field, v)
	}
	if httpapi.Deref(in.TlsClientCertificateBoundAccessTokens) {
		bad.add("tls_client_certificate_bound_access_tokens", "not supported here; only false is accepted")
	}
	if len(httpapi.Deref(in.RequestUris)) > 0 {
		bad.add("request_uris", "request objects are not supported here; only an empty list is accepted")
	}
	if httpapi.Deref(in.ClientSecretExpiresAt) != 0 {
		bad.add("client_secret_expires_at", "only 0 (never) is accepted; give a secret an expiry at /v1/tenants/{tenant}/clients/{clientId}/secrets")
	}
	var chosen clients.Chosen
	if ex == nil {
		chosen = clients.Chosen{ID: d(in.ClientId), Secret: d(in.ClientSecret), Developer: d(in.DeveloperId)}
		if at := httpapi.Deref(in.ClientIdIssuedAt); at != 0 {
			chosen.CreatedAt = time.Unix(at, 0)
		}
		if httpapi.Deref(in.System) {
			bad.add("system", "a platform client cannot be created through the API")
		}
	} else {
		if id := d(in.ClientId); id != "" && id != ex.id {
			bad.add("client_id", "is %q and cannot change", ex.id)
		}
		if d(in.ClientSecret) != "" {
			bad.add("client_secret", "is not changed by an update; add or revoke secrets at /v1/tenants/{tenant}/clients/{clientId}/secrets")
		}
		if dev := in.DeveloperId; dev != nil && *dev != "" && *dev != ex.developer {
			bad.add("developer_id", "is %q and cannot change", ex.developer)
		}
		if at := httpapi.Deref(in.ClientIdIssuedAt); at != 0 && at != ex.createdAt.Unix() {
			bad.add("client_id_issued_at", "is %d and cannot change", ex.createdAt.Unix())
		}
		if in.System != nil && *in.System != ex.system {
			bad.add("system", "is %t and cannot change", ex.system)
		}
	}
	listed := httpapi.Deref(in.Scopes)
	if in.Scope != nil && *in.Scope != "" {
		words := strings.Fields(*in.Scope)
		if in.Scopes == nil {
			listed = words
		} else if !sameSet(words, listed) {
			bad.add("scope", "names other scopes than scopes does")
		}
	}
	m := clients.Metadata{
		Name: d(in.ClientName), Description: d(in.Description), GrantTypes: httpapi.Deref(in.GrantTypes),
		ResponseTypes: httpapi.Deref(in.ResponseTypes), RedirectURIs: httpapi.Deref(in.RedirectUris), Scopes: listed,
		TokenEndpointAuthMethod: d(in.TokenEndpointAuthMethod), Public: httpapi.Deref(in.Public), Audience: httpapi.Deref(in.Audience),
		ClientURI: d(in.ClientUri), LogoURI: d(in.LogoUri), PolicyURI: d(in.PolicyUri), TosURI: d(in.TosUri),
		JWKSURI: d(in.JwksUri), Trusted: httpapi.Deref(in.Trusted),
	}
	if in.Jwks != nil && len(httpapi.Deref(in.Jwks.Keys)) > 0 {
		m.JWKS, _ = json.Marshal(in.Jwks)
	}
	if in.Privacy != nil && in.Privacy.Scopes != nil {
		m.Privacy = map[string]clients.PrivacyPurpose{}
		for scope, p := range *in.Privacy.Scopes {
			pp := clients.PrivacyPurpose{Purpose: p.Purpose}
			for _, c := range httpapi.Deref(p.PiiCategories) {
				pp.PIICategories = append(pp.PIICategories, c.Name)
			}
			m.Privacy[scope] = pp
		}
	}
	return m, chosen, bad.err()
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(slices.Compact(a), slices.Compact(b))
}

// clientOut is the seed's client: every field, the unsupported ones empty, the secret
// only when new.
func clientOut(c *clients.Client, tenant string, secret *clients.Secret) cloudentity.Client {
	empty, no, zero := "", false, int64(0)
	str := func(s string) *string { return &s }
	out := cloudentity.Client{
		Audience: &c.Audience, AuthorizationServerId: &tenant, ClientHashedSecret: &empty, ClientId: &c.ID,
		ClientIdIssuedAt: ptr(c.CreatedAt.Unix()), ClientName: &c.Name, ClientSecret: &empty, ClientSecretExpiresAt: &zero,
		ClientUri: str(c.ClientURI), Description: &c.Description, DeveloperId: &c.DeveloperID, GrantTypes: &c.GrantTypes,
		JwksUri: str(c.JWKSURI), LogoUri: str(c.LogoURI), PolicyUri: str(c.PolicyURI), Public: &c.Public,
		RedirectUris: &c.RedirectURIs, RequestObjectSigningAlg: &empty, RequestUris: &[]string{}, ResponseTypes: &c.ResponseTypes,
		Scope: str(strings.Join(c.Scopes, " ")), Scopes: &c.Scopes, SectorIdentifierUri: &empty, System: &c.System, TenantId: &tenant,
		TlsClientAuthSanDns: &empty, TlsClientAuthSanEmail: &empty, TlsClientAuthSanIp: &empty, TlsClientAuthSanUri: &empty,
		TlsClientAuthSubjectDn: &empty, TlsClientCertificateBoundAccessTokens: &no, TokenEndpointAuthMethod: &c.TokenEndpointAuthMethod,
		TokenEndpointSigningAlg: &empty, TosUri: str(c.TosURI), Trusted: &c.Trusted, UserinfoSignedResponseAlg: &empty,
	}
	if secret != nil {
		out.ClientSecret = &secret.Value
	}
	out.Jwks = &cloudentity.JWKS{Keys: &[]map[string]interface{}{}}
	if len(c.JWKS) > 0 {
		var k cloudentity.JWKS
		if json.Unmarshal(c.JWKS, &k) == nil {
			out.Jwks = &k
		}
	}
	scopes := map[string]cloudentity.PrivacyPurpose{}
	out.Privacy = &struct {
		Scopes *map[string]cloudentity.PrivacyPurpose `json:"scopes,omitempty"`
	}{Scopes: &scopes}
	for scope, p := range c.Privacy {
		pp := cloudentity.PrivacyPurpose{Purpose: p.Purpose}
		if len(p.PIICategories) > 0 {
			cats := make([]struct {
				Name string `json:"name"`
			}, len(p.PIICategories))
			for i, n := range p.PIICategories {
				cats[i].Name = n
			}
			pp.PiiCategories = &cats
		}
		scopes[scope] = pp
	}
	return out
}

func ptr[T any](v T) *T { return &v }

// CeCreateClient registers a client, keeping a chosen id, secret and issue time.
func (s *Server) CeCreateClient(ctx context.Context, req cloudentity.CeCreateClientRequestObject) (cloudentity.CeCreateClientResponseObject, error) {
	m, chosen, err := metadataFrom(req.Body, req.Tid, nil)
	if err != nil {
		return nil, err
	}
	c, secret, err := s.clients.Import(ctx, req.Tid, chosen, m, httpapi.Actor(ctx))
	if err != nil {
		return nil, renamed(err)
	}
	return cloudentity.CeCreateClient201JSONResponse(clientOut(c, req.Tid, secret)), nil
}

// CeGetClient returns one client, never its secret.
func (s *Server) CeGetClient(ctx context.Context, req cloudentity.CeGetClientRequestObject) (cloudentity.CeGetClientResponseObject, error) {
	c, err := s.clients.Get(ctx, req.Tid, req.Cid)
	if err != nil {
		return nil, err
	}
	return cloudentity.CeGetClient200JSONResponse(clientOut(c, req.Tid, nil)), nil
}

// CeUpdateClient replaces a client with the body; its read-only fields must keep their
// values.
func (s *Server) CeUpdateClient(ctx context.Context, req cloudentity.CeUpdateClientRequestObject) (cloudentity.CeUpdateClientResponseObject, error) {
	c, err := s.clients.Revise(ctx, req.Tid, req.Cid, func(c *clients.Client, m *clients.Metadata) error {
		next, _, err := metadataFrom(req.Body, req.Tid, &existing{id: c.ID, developer: c.DeveloperID, createdAt: c.CreatedAt, system: c.System})
		*m = next
		return err
	}, httpapi.Actor(ctx))
	if err != nil {
		return nil, renamed(err)
	}
	return cloudentity.CeUpdateClient200JSONResponse(clientOut(c, req.Tid, nil)), nil
}

// CeDeleteClient removes a client.
func (s *Server) CeDeleteClient(ctx context.Context, req cloudentity.CeDeleteClientRequestObject) (cloudentity.CeDeleteClientResponseObject, error) {
	if err := s.clients.Delete(ctx, req.Tid, req.Cid); err != nil {
		return nil, err
	}
	return cloudentity.CeDeleteClient204Response{}, nil
}
