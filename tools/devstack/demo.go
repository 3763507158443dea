package devstack

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
)

// Demo is what `make dev` gives a newcomer to try sign-in: a tenant "demo" with a person
// (username demo) and a small web application (a public client with PKCE) on a port of its
// own, which signs the person in through the platform's login and consent pages and shows
// what it got: the ID token's claims and userinfo.
type Demo struct {
	URL      string // the application, e.g. http://127.0.0.1:8081
	Tenant   string
	Username string
	Password string
	ClientID string
	server   *http.Server
	oauth    oauth2.Config
	base     string
	mu       sync.Mutex
	pending  map[string]string // state -> PKCE verifier
}

// demoTenant, demoUser and demoPassword are printed by `make dev`: a throwaway
// development account, never created anywhere else.
const (
	demoTenant   = "demo"
	demoUser     = "demo"
	demoPassword = "demo-password"
)

// StartDemo registers (or, on a restart with the same databases, finds and updates) the
// demo person and application as the admin bearer, and serves the application on addr.
func StartDemo(ctx context.Context, base, bearer, addr string) (*Demo, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("demo app listen %s: %w", addr, err)
	}
	d := &Demo{URL: "http://" + ln.Addr().String(), Tenant: demoTenant, Username: demoUser, Password: demoPassword,
		base: base, pending: map[string]string{}}
	admin := &TenantAPI{HTTP: http.DefaultClient, Base: base, Tenant: demoTenant, Bearer: bearer}
	if err := d.register(ctx, admin); err != nil {
		ln.Close()
		return nil, err
	}
	issuer := base + "/v1/tenants/" + demoTenant
	d.oauth = oauth2.Config{ClientID: d.ClientID, RedirectURL: d.URL + "/callback",
		Endpoint: oauth2.Endpoint{AuthURL: issuer + "/oauth2/authorize", TokenURL: issuer + "/oauth2/token", AuthStyle: oauth2.AuthStyleInParams},
		Scopes:   []string{"openid", "profile", "email", "offline_access"}}
	d.server = &http.Server{Handler: d, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = d.server.Serve(ln) }()
	return d, nil
}

// Close stops the application.
func (d *Demo) Close() { _ = d.server.Close() }

func (d *Demo) register(ctx context.Context, admin *TenantAPI) error {
	// The person: found by username, else created; the password is (re)set every start.
	var users struct {
		Data []struct {
			ID       string `json:"id"`
			Username string `json:"username"`
		} `json:"data"`
	}
	if err := admin.Call(ctx, http.MethodGet, "/users?searchQuery="+demoUser, nil, http.StatusOK, &users); err != nil {
		return err
	}
	userID := ""
	for _, u := range users.Data {
		if u.Username == demoUser {
			userID = u.ID
		}
	}
	if userID == "" {
		var created struct {
			ID string `json:"id"`
		}
		if err := admin.Call(ctx, http.MethodPost, "/users", map[string]any{"username": demoUser, "email": "demo@example.com",
			"firstName": "Dana", "lastName": "Demo", "emailVerified": true}, http.StatusCreated, &created); err != nil {
			return err
		}
		userID = created.ID
	}
	if err := admin.Call(ctx, http.MethodPut, "/users/"+userID+"/password", map[string]any{"password": demoPassword}, http.StatusNoContent, nil); err != nil {
		return err
	}
	// The application: found by name, else created; its redirect URI follows this run's port.
	metadata := map[string]any{"clientName": "Demo app", "public": true, "tokenEndpointAuthMethod": "none",
		"grantTypes": []string{"authorization_code", "refresh_token"}, "responseTypes": []string{"code"},
		"redirectUris": []string{d.URL + "/callback"}, "postLogoutRedirectUris": []string{d.URL + "/"},
		"scopes": []string{"openid", "profile", "email", "offline_access"}}
	var clients struct {
		Data []struct {
			ClientID   string         `json:"clientId"`
			ClientName string         `json:"clientName"`
			Metadata   map[string]any `json:"metadata"`
		} `json:"data"`
	}
	if err := admin.Call(ctx, http.MethodGet, "/clients?searchQuery=Demo", nil, http.StatusOK, &clients); err != nil {
		return err
	}
	for _, c := range clients.Data {
		if c.ClientName == "Demo app" {
			d.ClientID = c.ClientID
			metadata["metadata"] = map[string]any{"version": c.Metadata["version"]}
			return admin.Call(ctx, http.MethodPut, "/clients/"+c.ClientID, metadata, http.StatusOK, nil)
		}
	}
	var created struct {
		ClientID string `json:"clientId"`
	}
	if err := admin.Call(ctx, http.MethodPost, "/clients", metadata, http.StatusCreated, &created); err != nil {
		return err
	}
	d.ClientID = created.ClientID
	return nil
}

var demoPage = template.Must(template.New("demo").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Demo app</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 48rem; margin: 2rem auto">
<h1>Demo app</h1>
{{if .Error}}<p style="color:#a4000f">{{.Error}}</p>{{end}}
{{if .Claims}}
<p>Signed in. The ID token says:</p><pre>{{.Claims}}</pre>
<p>userinfo says:</p><pre>{{.UserInfo}}</pre>
<p><a href="{{.Logout}}">Sign out</a></p>
{{else}}
<p>Sign in as <code>demo</code> / <code>demo-password</code>.</p>
<p><a href="/signin">Sign in</a></p>
{{end}}
</body></html>`))

type demoView struct {
	Error, Claims, UserInfo, Logout string
}

func (d *Demo) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/signin":
		b := make([]byte, 16)
		_, _ = rand.Read(b)
		state, verifier := base64.RawURLEncoding.EncodeToString(b), oauth2.GenerateVerifier()
		d.mu.Lock()
		d.pending[state] = verifier
		d.mu.Unlock()
		http.Redirect(w, r, d.oauth.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier)), http.StatusSeeOther)
	case "/callback":
		d.callback(w, r)
	default:
		_ = demoPage.Execute(w, demoView{})
	}
}

func (d *Demo) callback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	d.mu.Lock()
	verifier, ok := d.pending[q.Get("state")]
	delete(d.pending, q.Get("state"))
	d.mu.Unlock()
	view := demoView{}
	switch {
	case q.Get("error") != "":
		view.Error = q.Get("error") + ": " + q.Get("error_description")
	case !ok:
		view.Error = "unknown state: start again"
	default:
		tok, err := d.oauth.Exchange(r.Context(), q.Get("code"), oauth2.VerifierOption(verifier))
		if err != nil {
			view.Error = err.Error()
			break
		}
		idToken, _ := tok.Extra("id_token").(string)
		if parts := strings.Split(idToken, "."); len(parts) == 3 {
			raw, _ := base64.RawURLEncoding.DecodeString(parts[1])
			var pretty bytes.Buffer
			_ = json.Indent(&pretty, raw, "", "  ")
			view.Claims = pretty.String()
		}
		req, _ := http.NewRequestWithContext(r.Context(), http.MethodGet, d.base+"/v1/tenants/"+d.Tenant+"/oauth2/userinfo", nil)
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			var pretty bytes.Buffer
			_ = json.Indent(&pretty, body, "", "  ")
			view.UserInfo = pretty.String()
		}
		view.Logout = d.base + "/v1/tenants/" + d.Tenant + "/oauth2/logout?" + url.Values{"id_token_hint": {idToken},
			"post_logout_redirect_uri": {d.URL + "/"}, "client_id": {d.ClientID}}.Encode()
	}
	_ = demoPage.Execute(w, view)
}

// TenantAPI calls one tenant's management API with a bearer token: the dev stack's demo
// set-up and the load tools' fixtures.
type TenantAPI struct {
	HTTP   *http.Client
	Base   string // the platform's base URL
	Tenant string
	Bearer string
}

// Call sends body (JSON, if not nil) to path below /v1/tenants/{tenant} and decodes the
// answer into out (if not nil); an answer other than want is an error naming it.
func (a *TenantAPI) Call(ctx context.Context, method, path string, body any, want int, out any) error {
	var rd io.Reader
	if body != nil {
		raw, _ := json.Marshal(body)
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.Base+"/v1/tenants/"+a.Tenant+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+a.Bearer)
	resp, err := a.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: status %d: %s", method, path, resp.StatusCode, raw)
	}
	if out != nil {
		return json.Unmarshal(raw, out)
	}
	return nil
}

// ClientToken gets a client_credentials token for a confidential client.
func ClientToken(ctx context.Context, base, tenant, id, secret string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v1/tenants/"+tenant+"/oauth2/token",
		strings.NewReader("grant_type=client_credentials"))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(id, secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var body struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body.AccessToken == "" {
		return "", fmt.Errorf("token for %s: status %d %v", id, resp.StatusCode, err)
	}
	return body.AccessToken, nil
}
