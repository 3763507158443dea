// Package egress is the one way the platform fetches from an address one of its users
// gave it: a client's jwksUri today; OpenID discovery, SCIM and imports later. Such a
// fetch runs with the server's network position, so an attacker who can name the
// address must not be able to reach what only the server can: loopback, link-local
// (169.254.169.254, the cloud metadata service), private and other internal networks.
//
// The address is checked when the connection is made, after DNS resolution, so a name
// that resolves to a public address when registered and to an internal one when
// fetched (DNS rebinding) is refused too. Only https is fetched, redirects are not
// followed, no proxy from the environment is used (it would connect on our behalf,
// unchecked), and the time and size of an answer are bounded.
package egress

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Guard fetches from user-given addresses. The zero value is ready: 5 s, 64 KiB, no
// internal network reachable.
type Guard struct {
	// Allow lists internal networks that may be reached anyway, e.g. an on-premises
	// identity provider's; empty by default.
	Allow    []netip.Prefix
	Timeout  time.Duration // the whole request; default 5s
	MaxBytes int64         // largest answer read; default 64 KiB
	TLS      *tls.Config   // nil: the system's roots
	Resolver *net.Resolver // nil: the system's

	once   sync.Once
	client *http.Client
}

// ErrRefused is the cause of a fetch refused for its address.
var ErrRefused = errors.New("egress: address not allowed")

// Get fetches rawURL and returns its body, or an error for anything but a 200 within the
// bounds from an allowed address.
func (g *Guard) Get(ctx context.Context, rawURL string) ([]byte, error) {
	if err := g.CheckURL(rawURL); err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, err
	}
	resp, err := g.httpClient().Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("egress: %s answered %d", req.URL.Host, resp.StatusCode)
	}
	limit := g.MaxBytes
	if limit == 0 {
		limit = 64 << 10
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(body)) > limit {
		return nil, fmt.Errorf("egress: the answer of %s is larger than %d bytes", req.URL.Host, limit)
	}
	return body, nil
}

// CheckURL refuses, before any connection, what can be refused from the URL alone: a
// scheme other than https, credentials in the URL, and a host that is an internal
// address literal or a localhost name. Registration validates user-given URLs with it;
// names are checked again, resolved, when a fetch connects.
func (g *Guard) CheckURL(rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil {
		return fmt.Errorf("%w: %q is not an https URL without credentials", ErrRefused, rawURL)
	}
	host := strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return fmt.Errorf("%w: %s is this machine", ErrRefused, host)
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		return g.checkIP(ip)
	}
	return nil
}

func (g *Guard) httpClient() *http.Client {
	g.once.Do(func() {
		timeout := g.Timeout
		if timeout == 0 {
			timeout = 5 * time.Second
		}
		dialer := &net.Dialer{Timeout: timeout, Control: g.control, Resolver: g.Resolver}
		g.client = &http.Client{
			Timeout: timeout,
			Transport: &http.Transport{
				Proxy:               nil,
				DialContext:         dialer.DialContext,
				TLSClientConfig:     g.TLS,
				TLSHandshakeTimeout: timeout,
				MaxIdleConns:        10,
				IdleConnTimeout:     30 * time.Second,
			},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	})
	return g.client
}

// control runs for every connection, with the address DNS resolved to.
func (g *Guard) control(_, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return fmt.Errorf("%w: %s", ErrRefused, address)
	}
	return g.checkIP(ip)
}

// internal are the networks a user-given address may not reach, besides what netip's
// predicates name: shared address space (carrier-grade NAT), this network, benchmarking,
// and the IPv6 ranges that embed IPv4 addresses.
var internal = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("64:ff9b::/96"),
	netip.MustParsePrefix("2002::/16"),
}

func (g *Guard) checkIP(ip netip.Addr) error {
	ip = ip.Unmap()
	for _, p := range g.Allow {
		if p.Contains(ip) {
			return nil
		}
	}
	bad := ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified()
	for _, p := range internal {
		bad = bad || p.Contains(ip)
	}
	if bad {
		return fmt.Errorf("%w: %s is an internal address", ErrRefused, ip)
	}
	return nil
}

// ParseAllow reads a comma-separated list of networks (CIDRs or single addresses), as
// an IAM_EGRESS_ALLOW setting holds.
func ParseAllow(list []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range list {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if !strings.Contains(s, "/") {
			ip, err := netip.ParseAddr(s)
			if err != nil {
				return nil, fmt.Errorf("egress allow-list: %q: %w", s, err)
			}
			out = append(out, netip.PrefixFrom(ip, ip.BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("egress allow-list: %q: %w", s, err)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}
