package ratelimit

import (
	"net/http/httptest"
	"net/netip"
	"testing"

	"github.com/acme/bff-gateway/internal/auth"
)

func TestClientIP(t *testing.T) {
	t.Parallel()
	trusted := []netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"),
		netip.MustParsePrefix("fd00::/8"),
	}
	tests := []struct {
		name    string
		remote  string
		xff     []string // one element per header line
		trusted []netip.Prefix
		want    string // "" for the zero Addr
	}{
		{name: "no proxy", remote: "203.0.113.7:5555", want: "203.0.113.7"},
		{name: "no trusted proxies: header ignored", remote: "10.0.0.1:5555", xff: []string{"198.51.100.1"}, want: "10.0.0.1"},
		{name: "spoofed header from untrusted peer ignored", remote: "203.0.113.7:5555", xff: []string{"1.2.3.4"}, trusted: trusted, want: "203.0.113.7"},
		{name: "trusted peer", remote: "10.0.0.1:5555", xff: []string{"198.51.100.1"}, trusted: trusted, want: "198.51.100.1"},
		{name: "chain: right-most untrusted wins over client-written entries", remote: "10.0.0.1:5555", xff: []string{"1.2.3.4, 198.51.100.1, 10.0.0.9"}, trusted: trusted, want: "198.51.100.1"},
		{name: "chain over several header lines", remote: "10.0.0.1:5555", xff: []string{"1.2.3.4", "198.51.100.1, 10.0.0.9", "10.1.1.1"}, trusted: trusted, want: "198.51.100.1"},
		{name: "all hops trusted: left-most", remote: "10.0.0.1:5555", xff: []string{"10.0.0.3, 10.0.0.2"}, trusted: trusted, want: "10.0.0.3"},
		{name: "trusted peer without header", remote: "10.0.0.1:5555", trusted: trusted, want: "10.0.0.1"},
		{name: "empty header", remote: "10.0.0.1:5555", xff: []string{""}, trusted: trusted, want: "10.0.0.1"},
		{name: "empty entries skipped", remote: "10.0.0.1:5555", xff: []string{"198.51.100.1, ,"}, trusted: trusted, want: "198.51.100.1"},
		{name: "garbage: last trusted hop", remote: "10.0.0.1:5555", xff: []string{"not-an-ip"}, trusted: trusted, want: "10.0.0.1"},
		{name: "garbage behind a trusted hop", remote: "10.0.0.1:5555", xff: []string{"1.2.3.4, <script>, 10.0.0.9"}, trusted: trusted, want: "10.0.0.9"},
		{name: "garbage left of the client is never read", remote: "10.0.0.1:5555", xff: []string{"junk, 198.51.100.1"}, trusted: trusted, want: "198.51.100.1"},
		{name: "entries with ports", remote: "10.0.0.1:5555", xff: []string{"[2001:db8::5]:443, 10.0.0.9:80"}, trusted: trusted, want: "2001:db8::5"},
		{name: "IPv6 peer", remote: "[2001:db8::1]:5555", want: "2001:db8::1"},
		{name: "IPv6 trusted proxy and client", remote: "[fd00::1]:5555", xff: []string{"2001:db8::7, fd00::2"}, trusted: trusted, want: "2001:db8::7"},
		{name: "IPv4-mapped peer matches an IPv4 prefix", remote: "[::ffff:10.0.0.1]:5555", xff: []string{"198.51.100.1"}, trusted: trusted, want: "198.51.100.1"},
		{name: "zone dropped", remote: "[fe80::1%eth0]:5555", want: "fe80::1"},
		{name: "remote without port", remote: "203.0.113.7", want: "203.0.113.7"},
		{name: "unparseable remote", remote: "@", xff: []string{"1.2.3.4"}, trusted: trusted, want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest("POST", "/graphql", nil)
			r.RemoteAddr = tt.remote
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			got := ClientIP(r, tt.trusted)
			var want netip.Addr
			if tt.want != "" {
				want = netip.MustParseAddr(tt.want)
			}
			if got != want {
				t.Errorf("ClientIP = %v, want %v", got, want)
			}
		})
	}
}

func TestPrincipalKey(t *testing.T) {
	t.Parallel()
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	tests := []struct {
		name      string
		principal *auth.Principal
		apiKey    string
		remote    string
		xff       string
		want      string
	}{
		{name: "user wins over API key", principal: &auth.Principal{Subject: "u1"}, apiKey: "web", remote: "203.0.113.7:1", want: "user:u1"},
		{name: "API key wins over IP", apiKey: "web", remote: "203.0.113.7:1", want: "key:web"},
		{name: "principal without subject falls through", principal: &auth.Principal{}, apiKey: "web", remote: "203.0.113.7:1", want: "key:web"},
		{name: "IP", remote: "203.0.113.7:1", want: "ip:203.0.113.7"},
		{name: "IP through a trusted proxy", remote: "10.0.0.1:1", xff: "198.51.100.1", want: "ip:198.51.100.1"},
		{name: "IPv6 grouped by /64", remote: "[2001:db8:1:2:aaaa::1]:1", want: "ip:2001:db8:1:2::/64"},
		{name: "unknown IP", remote: "@", want: "ip:unknown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest("POST", "/graphql", nil)
			r.RemoteAddr = tt.remote
			if tt.xff != "" {
				r.Header.Set("X-Forwarded-For", tt.xff)
			}
			if tt.principal != nil {
				r = r.WithContext(auth.NewContextWithPrincipal(r.Context(), *tt.principal))
			}
			if got := PrincipalKey(r, trusted, tt.apiKey); got != tt.want {
				t.Errorf("PrincipalKey = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestIPKeyGroupsIPv6Subnet(t *testing.T) {
	t.Parallel()
	a := IPKey(netip.MustParseAddr("2001:db8:1:2::1"))
	b := IPKey(netip.MustParseAddr("2001:db8:1:2:ffff:ffff:ffff:ffff"))
	c := IPKey(netip.MustParseAddr("2001:db8:1:3::1"))
	if a != b || a == c {
		t.Errorf("IPKey: %q, %q, %q; want the first two equal and the third different", a, b, c)
	}
}
