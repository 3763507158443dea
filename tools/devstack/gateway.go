package devstack

import (
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"time"
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

// DialectRoutes maps the paths of the seed dialects (DESIGN.md, "Seed dialects") to the
// service that serves them: each is a path pattern whose "*" matches one segment and
// which covers everything below it; the pattern with most segments that matches wins. A
// dialect's handlers add their patterns here and the same lines to
// deploy/base/gateway.yaml.
var DialectRoutes = map[string]string{
	// Cloudentity's consent admin API (services/consent/api/cloudentity).
	"/api/admin/*/consents": "consent", "/api/admin/*/actions": "consent", "/api/admin/*/events": "consent",
	// Emporix IAM (seed 004): iam-policies' part.
	"/iam/*/access-controls":          "iam-policies",
	"/iam/*/permissions":              "iam-policies",
	"/iam/*/resources":                "iam-policies",
	"/iam/*/roles":                    "iam-policies",
	"/iam/*/templates":                "iam-policies",
	"/iam/*/groups/*/access-controls": "iam-policies",
	"/iam/*/users/*/access-controls":  "iam-policies",
	"/iam/*/users/*/permissions":      "iam-policies",
	"/iam/*/users/*/scopes":           "iam-policies",
	// Emporix IAM (seed 004): users, groups and assignments.
	"/iam/*/users":  "iam-subjects",
	"/iam/*/groups": "iam-subjects",
	// oauth-clients: the Identity Service's JSON:API (tenant from the token), Aritma v0
	// under its base path /core/iam, Cloudentity's admin and developer clients and scopes.
	"/clients":                 "oauth-clients",
	"/core/iam/clients":        "oauth-clients",
	"/api/admin/*/clients":     "oauth-clients",
	"/api/admin/*/scopes":      "oauth-clients",
	"/api/developer/*/clients": "oauth-clients",
}

// Owner names the service that serves path: a native tenant-scoped collection, or a seed
// dialect's route; "" when no service does.
func Owner(path string) string { return owner(path, DialectRoutes) }

func owner(path string, dialects map[string]string) string {
	parts := strings.SplitN(strings.TrimPrefix(path, "/"), "/", 5)
	if len(parts) >= 4 && parts[0] == "v1" && parts[1] == "tenants" {
		return Collections[parts[3]]
	}
	segments := strings.Split(strings.TrimPrefix(path, "/"), "/")
	best, bestLen := "", 0
	for pattern, service := range dialects {
		want := strings.Split(strings.TrimPrefix(pattern, "/"), "/")
		if len(want) <= bestLen || len(want) > len(segments) {
			continue
		}
		match := true
		for i, w := range want {
			if w != "*" && w != segments[i] {
				match = false
				break
			}
		}
		if match {
			best, bestLen = service, len(want)
		}
	}
	return best
}

// Gateway is the dev stack's single entry point, serving what the production gateway
// (deploy/base/gateway.yaml) serves and nothing more: /v1/tenants/{tenant}/<collection>/...
// and the seed dialects' paths go to the owning service (Owner), /healthz answers the gateway's own health. A service's
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
	proxy := httputil.NewSingleHostReverseProxy(target)
	// http.DefaultTransport keeps two idle connections per host: under more concurrent
	// requests than that, every request past the second opened (and closed) a connection
	// of its own, which halved the throughput through the gateway.
	proxy.Transport = &http.Transport{Proxy: nil, MaxIdleConns: 1024, MaxIdleConnsPerHost: 1024, IdleConnTimeout: 90 * time.Second}
	g.backends[service] = proxy
}

func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/healthz" {
		_, _ = w.Write([]byte("ok\n"))
		return
	}
	g.mu.RLock()
	proxy := g.backends[Owner(r.URL.Path)]
	g.mu.RUnlock()
	if proxy == nil {
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"type":"https://iamplane.dev/problems/not-found","title":"Not Found","status":404,"detail":"no service owns this path"}`))
		return
	}
	proxy.ServeHTTP(w, r)
}
