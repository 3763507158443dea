package benchkit

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/iamplane/iam/tools/devstack"
)

// App is a single-page application registered for people to sign in to: a public client
// with a redirect URI, asking for a required EULA and an optional newsletter on the
// consent screen, and the people who may sign in.
type App struct {
	Base, Tenant     string
	ClientID         string
	RedirectURI      string
	PostLogoutURI    string
	EULA, Newsletter string // consent ids
	People           []Person
	PeopleIDs        []string // user ids, in the order of People
	Scope            string
	api              *devstack.TenantAPI
}

// NewApp registers the app and people users (password "password-<i> of the app") in
// tenant, as the admin bearer.
func NewApp(hc *http.Client, base, bearer, tenant, redirectURI string, people int) (*App, error) {
	a := &App{Base: base, Tenant: tenant, RedirectURI: redirectURI, PostLogoutURI: redirectURI + "/signed-out",
		Scope: "openid profile email offline_access", api: &devstack.TenantAPI{HTTP: hc, Base: base, Tenant: tenant, Bearer: bearer}}
	var consent struct {
		ID string `json:"id"`
	}
	if err := a.Admin(http.MethodPost, "/consents", map[string]any{"name": "eula", "description": "The terms of use"}, http.StatusCreated, &consent); err != nil {
		return nil, err
	}
	a.EULA = consent.ID
	if err := a.Admin(http.MethodPost, "/consents", map[string]any{"name": "newsletter", "description": "News by email"}, http.StatusCreated, &consent); err != nil {
		return nil, err
	}
	a.Newsletter = consent.ID
	var action struct {
		ID string `json:"id"`
	}
	if err := a.Admin(http.MethodPost, "/consent-actions", map[string]any{"name": "app-signup", "description": "Asked when signing in to the app",
		"consents": []map[string]any{{"consentId": a.EULA, "required": true}, {"consentId": a.Newsletter, "required": false}}}, http.StatusCreated, &action); err != nil {
		return nil, err
	}
	var client struct {
		ClientID string `json:"clientId"`
	}
	if err := a.Admin(http.MethodPost, "/clients", map[string]any{
		"clientName": "Demo app", "public": true, "tokenEndpointAuthMethod": "none",
		"grantTypes": []string{"authorization_code", "refresh_token"}, "responseTypes": []string{"code"},
		"redirectUris": []string{redirectURI}, "postLogoutRedirectUris": []string{a.PostLogoutURI},
		"scopes": strings.Fields(a.Scope), "consentActionId": action.ID,
	}, http.StatusCreated, &client); err != nil {
		return nil, err
	}
	a.ClientID = client.ClientID
	for i := range people {
		p := Person{Username: fmt.Sprintf("person-%d", i), Password: fmt.Sprintf("password-%d of the app", i), Consents: []string{a.EULA}}
		var user struct {
			ID string `json:"id"`
		}
		if err := a.Admin(http.MethodPost, "/users", map[string]any{"username": p.Username, "email": p.Username + "@example.com",
			"firstName": "Person", "lastName": fmt.Sprint(i)}, http.StatusCreated, &user); err != nil {
			return nil, err
		}
		if err := a.Admin(http.MethodPut, "/users/"+user.ID+"/password", map[string]any{"password": p.Password}, http.StatusNoContent, nil); err != nil {
			return nil, err
		}
		a.People, a.PeopleIDs = append(a.People, p), append(a.PeopleIDs, user.ID)
	}
	return a, nil
}

// Admin calls the tenant's management API as the admin bearer; path is below
// /v1/tenants/{tenant}.
func (a *App) Admin(method, path string, body any, want int, out any) error {
	return a.api.Call(context.Background(), method, path, body, want, out)
}

// Attempt is one sign-in's secrets: PKCE verifier, state and nonce.
type Attempt struct{ Verifier, State, Nonce string }

// NewAttempt makes fresh secrets.
func NewAttempt() Attempt {
	r := func(n int) string {
		b := make([]byte, n)
		_, _ = rand.Read(b)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	return Attempt{Verifier: r(48), State: r(16), Nonce: r(16)}
}

// Challenge is the attempt's S256 code challenge.
func (at Attempt) Challenge() string {
	sum := sha256.Sum256([]byte(at.Verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// AuthorizeURL starts attempt; extra adds or replaces parameters (prompt, max_age, ...),
// and a nil value leaves one out.
func (a *App) AuthorizeURL(at Attempt, extra url.Values) string {
	q := url.Values{"response_type": {"code"}, "client_id": {a.ClientID}, "redirect_uri": {a.RedirectURI},
		"scope": {a.Scope}, "state": {at.State}, "nonce": {at.Nonce},
		"code_challenge": {at.Challenge()}, "code_challenge_method": {"S256"}}
	for k, v := range extra {
		if v == nil {
			delete(q, k)
		} else {
			q[k] = v
		}
	}
	return a.Base + "/v1/tenants/" + a.Tenant + "/oauth2/authorize?" + q.Encode()
}

// Tokens is a token endpoint answer.
type Tokens struct {
	AccessToken      string `json:"access_token"`
	RefreshToken     string `json:"refresh_token"`
	IDToken          string `json:"id_token"`
	Scope            string `json:"scope"`
	ExpiresIn        int    `json:"expires_in"`
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
}

// Exchange redeems code with the attempt's verifier.
func (a *App) Exchange(hc *http.Client, code string, at Attempt) (Tokens, int, error) {
	return a.token(hc, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {a.RedirectURI},
		"code_verifier": {at.Verifier}, "client_id": {a.ClientID}})
}

// Refresh redeems a refresh token.
func (a *App) Refresh(hc *http.Client, refreshToken string) (Tokens, int, error) {
	return a.token(hc, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refreshToken}, "client_id": {a.ClientID}})
}

func (a *App) token(hc *http.Client, form url.Values) (Tokens, int, error) {
	resp, err := hc.PostForm(a.Base+"/v1/tenants/"+a.Tenant+"/oauth2/token", form)
	if err != nil {
		return Tokens{}, 0, err
	}
	defer resp.Body.Close()
	var t Tokens
	if err := json.NewDecoder(resp.Body).Decode(&t); err != nil {
		return t, resp.StatusCode, err
	}
	return t, resp.StatusCode, nil
}
