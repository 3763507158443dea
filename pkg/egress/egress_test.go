package egress

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

func TestGuard(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/redirect":
			http.Redirect(w, r, "https://169.254.169.254/latest/meta-data", http.StatusFound)
		case "/large":
			_, _ = w.Write(make([]byte, 100<<10))
		default:
			_, _ = w.Write([]byte(`{"keys":[]}`))
		}
	}))
	defer srv.Close()
	tlsConfig := srv.Client().Transport.(*http.Transport).TLSClientConfig
	port := srv.URL[strings.LastIndexByte(srv.URL, ':'):]
	loopback := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	tests := []struct {
		name    string
		allow   []netip.Prefix
		url     string
		refused bool   // refused for its address
		err     string // or failing with this
	}{
		{"loopback refused by default", nil, srv.URL + "/jwks", true, ""},
		{"localhost refused before connecting", nil, "https://localhost" + port + "/jwks", true, ""},
		{"cloud metadata refused", nil, "https://169.254.169.254/latest/meta-data", true, ""},
		{"private network refused", nil, "https://10.0.0.1/jwks", true, ""},
		{"IPv6 loopback refused", nil, "https://[::1]" + port + "/jwks", true, ""},
		{"IPv4-mapped loopback refused", nil, "https://[::ffff:127.0.0.1]" + port + "/jwks", true, ""},
		{"http refused", loopback, strings.Replace(srv.URL, "https", "http", 1), true, ""},
		{"credentials in the URL refused", loopback, strings.Replace(srv.URL, "https://", "https://u:p@", 1), true, ""},
		{"allowed network fetched", loopback, srv.URL + "/jwks", false, ""},
		{"redirect not followed", loopback, srv.URL + "/redirect", false, "answered 302"},
		{"answer too large", loopback, srv.URL + "/large", false, "larger than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := &Guard{Allow: tt.allow, TLS: tlsConfig, Timeout: 2 * time.Second}
			start := time.Now()
			body, err := g.Get(context.Background(), tt.url)
			switch {
			case tt.refused:
				if !errors.Is(err, ErrRefused) {
					t.Fatalf("err = %v, want refused", err)
				}
				if time.Since(start) > time.Second {
					t.Errorf("refusal took %s: it must not wait for a connection", time.Since(start))
				}
			case tt.err != "":
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
			default:
				if err != nil || string(body) != `{"keys":[]}` {
					t.Fatalf("Get = %q, %v", body, err)
				}
			}
		})
	}
}

// The check runs when connecting, on the address DNS gave: a name a real DNS server
// (started here) resolves to loopback, as a rebinding attacker's would at fetch time, is
// refused; allowed, the same name is fetched, so the check did see the resolved address.
func TestGuardChecksResolvedAddress(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`{"keys":[]}`))
	}))
	defer srv.Close()
	port := srv.URL[strings.LastIndexByte(srv.URL, ':'):]
	tlsConfig := srv.Client().Transport.(*http.Transport).TLSClientConfig.Clone()
	tlsConfig.ServerName = "example.com" // httptest's certificate names example.com

	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dnsServer := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, q *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(q)
		if q.Question[0].Qtype == dns.TypeA {
			m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: q.Question[0].Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 0},
				A: net.ParseIP("127.0.0.1")})
		}
		_ = w.WriteMsg(m)
	})}
	go func() { _ = dnsServer.ActivateAndServe() }()
	defer func() { _ = dnsServer.Shutdown() }()
	resolver := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "udp", pc.LocalAddr().String())
	}}
	url := "https://keys.rebind.test" + port + "/jwks"

	g := &Guard{TLS: tlsConfig, Resolver: resolver, Timeout: 2 * time.Second}
	if err := g.CheckURL(url); err != nil {
		t.Fatalf("the name itself is fine before resolution: %v", err)
	}
	if _, err := g.Get(context.Background(), url); !errors.Is(err, ErrRefused) {
		t.Fatalf("Get = %v, want refused after resolving to loopback", err)
	}
	allowed := &Guard{TLS: tlsConfig, Resolver: resolver, Timeout: 2 * time.Second, Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}
	if body, err := allowed.Get(context.Background(), url); err != nil || string(body) != `{"keys":[]}` {
		t.Fatalf("allowed Get = %q, %v", body, err)
	}
}

func TestParseAllow(t *testing.T) {
	got, err := ParseAllow([]string{"10.1.0.0/16", " 192.168.5.7 ", ""})
	if err != nil || len(got) != 2 || got[1].String() != "192.168.5.7/32" {
		t.Fatalf("ParseAllow = %v, %v", got, err)
	}
	if _, err := ParseAllow([]string{"nonsense"}); err == nil {
		t.Fatal("nonsense accepted")
	}
}
