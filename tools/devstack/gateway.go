package devstack

import (
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
)

// Collections maps each tenant-scoped collection to the service that owns it (DESIGN.md):
// one gateway or ingress routes by this table alone.
var Collections = map[string]string{
	"subjects": "iam-subjects", "users": "iam-subjects", "groups": "iam-subjects", "me": "iam-subjects", "login": "iam-subjects",
	"policies": "iam-policies", "check": "iam-policies", "effective": "iam-policies", "tenant-roles": "iam-policies",
	"actions": "iam-policies", "resources": "iam-policies", "permissions": "iam-policies", "roles": "iam-policies",
	"access-controls": "iam-policies", "templates": "iam-policies", "assignments": "iam-policies",
	"clients": "oauth-clients", "scopes": "oauth-clients", "developer": "oauth-clients", "oauth2": "oauth-clients",
	".well-known": "oauth-clients",
	"consents":    "consent", "consent-actions": "consent", "consent-grants": "consent", "client-access": "consent",
	"privacy-ledger": "consent", "consent-screen": "consent",
}

// Gateway is the dev stack's single entry point, serving what the production gateway
// (deploy/base/gateway.yaml) serves and nothing more: /v1/tenants/{tenant}/<collection>/...
// goes to the owning service, /healthz answers the gateway's own health. A service's
// operational endpoints (metrics, health, the diagnostic fault) are reached at its own
// address, never through the public entry point.
type Gateway struct {
	mu       sync.RWMutex
	backends map[string]*httputil.ReverseProxy
}

// Route points a service name at its address.
func (g *Gateway) Route(service, addr string) {
	target := &url.URL{Scheme: "http", Host: addr}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.backends == nil {
		g.backends = map[string]*httputil.ReverseProxy{}
	}
	g.backends[service] = httputil.NewSingleHostReverseProxy(target)
}

func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/healthz" {
		_, _ = w.Write([]byte("ok\n"))
		return
	}
	g.mu.RLock()
	proxy := g.backends[g.resolve(r.URL.Path)]
	g.mu.RUnlock()
	if proxy == nil {
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"type":"https://iamplane.dev/problems/not-found","title":"Not Found","status":404,"detail":"no service owns this path"}`))
		return
	}
	proxy.ServeHTTP(w, r)
}

// resolve finds the service owning a tenant-scoped path, "" for any other path.
func (g *Gateway) resolve(p string) string {
	parts := strings.SplitN(strings.TrimPrefix(p, "/"), "/", 5)
	if len(parts) >= 4 && parts[0] == "v1" && parts[1] == "tenants" {
		return Collections[parts[3]]
	}
	return ""
}
