package faults

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/iamplane/iam/tools/devstack"
)

// gateway routes /v1/tenants/{tenant}/<collection>/... to a replica of the owning service
// (devstack.Owner), round robin, and on to the next replica when one refuses the
// connection: a killed replica costs the requests it was serving, not every request after.
// Only a refused connection is retried (the request never reached a service); any other
// failure is answered 502, as a load balancer would.
type gateway struct {
	mu       sync.RWMutex
	backends map[string][]string // service -> replica addresses
	next     atomic.Uint64
	tr       *http.Transport
}

func newGateway() *gateway {
	return &gateway{backends: map[string][]string{}, tr: &http.Transport{MaxIdleConnsPerHost: 64}}
}

func (g *gateway) route(service string, addrs []string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.backends[service] = addrs
}

func (g *gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	service := devstack.Owner(r.URL.Path)
	g.mu.RLock()
	addrs := g.backends[service]
	g.mu.RUnlock()
	if len(addrs) == 0 {
		http.Error(w, "no service owns this path", http.StatusNotFound)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	start := int(g.next.Add(1))
	for i := range addrs {
		addr := addrs[(start+i)%len(addrs)]
		out, _ := http.NewRequestWithContext(r.Context(), r.Method, "http://"+addr+r.URL.RequestURI(), bytes.NewReader(body))
		out.Header = r.Header.Clone()
		out.Host = r.Host
		resp, err := g.tr.RoundTrip(out)
		if err != nil {
			if refused(err) {
				continue
			}
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
		_ = resp.Body.Close()
		return
	}
	http.Error(w, errDown.Error(), http.StatusServiceUnavailable)
}

func refused(err error) bool {
	var op *net.OpError
	return errors.Is(err, syscall.ECONNREFUSED) || (errors.As(err, &op) && op.Op == "dial")
}
