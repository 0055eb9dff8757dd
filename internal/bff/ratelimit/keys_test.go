package ratelimit

import (
	"net/netip"
	"testing"
)

func TestPrincipalKey(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		subject string
		app     string
		client  netip.Addr
		want    string
	}{
		{name: "user wins over API key", subject: "u1", app: "web", client: netip.MustParseAddr("203.0.113.7"), want: "user:u1"},
		{name: "API key wins over IP", app: "web", client: netip.MustParseAddr("203.0.113.7"), want: "key:web"},
		{name: "IP", client: netip.MustParseAddr("203.0.113.7"), want: "ip:203.0.113.7"},
		{name: "IPv6 grouped by /64", client: netip.MustParseAddr("2001:db8:1:2:aaaa::1"), want: "ip:2001:db8:1:2::/64"},
		{name: "unknown IP", want: "ip:unknown"},
	}
	for _, tt := range tests {
		if got := PrincipalKey(tt.subject, tt.app, tt.client); got != tt.want {
			t.Errorf("%s: PrincipalKey = %q, want %q", tt.name, got, tt.want)
		}
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
