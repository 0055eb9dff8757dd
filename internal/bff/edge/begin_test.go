package edge

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"github.com/acme/bff-gateway/internal/bff/request"
)

// seen is what the handler after Begin found in its request.
type seen struct {
	calls    int
	ctx      context.Context
	clientIP netip.Addr
	media    Media
	deadline time.Time
	hasDL    bool
}

// begin runs r through Begin(timeout, trusted) and records what the next
// handler saw. The next handler changes the Accept header before asking
// MediaOf, so a negotiation redone after Begin would show.
func begin(t *testing.T, timeout time.Duration, trusted []netip.Prefix, r *http.Request) (*httptest.ResponseRecorder, *seen) {
	t.Helper()
	s := &seen{}
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.calls++
		s.ctx = r.Context()
		s.clientIP = request.ClientIP(r.Context())
		s.deadline, s.hasDL = r.Context().Deadline()
		r.Header.Set("Accept", "image/png")
		s.media = MediaOf(r)
		w.WriteHeader(http.StatusNoContent)
	})
	rec := httptest.NewRecorder()
	Begin(timeout, trusted)(next).ServeHTTP(rec, r)
	if s.calls != 1 {
		t.Fatalf("next called %d times, want 1", s.calls)
	}
	return rec, s
}

func TestBeginSetsVaryAccept(t *testing.T) {
	t.Parallel()
	r := httptest.NewRequest(http.MethodPost, "/graphql", nil)
	rec := httptest.NewRecorder()
	rec.Header().Add("Vary", "Origin") // set by the CORS middleware outside
	Begin(time.Second, nil)(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})).ServeHTTP(rec, r)
	got := rec.Header().Values("Vary")
	if len(got) != 2 || got[0] != "Origin" || got[1] != "Accept" {
		t.Errorf("Vary = %q, want [Origin Accept]", got)
	}
	if rec.Code != http.StatusNoContent {
		t.Errorf("status %d, want 204 from next", rec.Code)
	}
}

func TestBeginPutsClientIPInContext(t *testing.T) {
	t.Parallel()
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	tests := []struct {
		name    string
		remote  string
		xff     string
		trusted []netip.Prefix
		want    string // "" for the zero Addr
	}{
		{name: "no trusted proxies: the peer, header ignored", remote: "10.0.0.1:5555", xff: "198.51.100.1", want: "10.0.0.1"},
		{name: "trusted proxy: the forwarded client", remote: "10.0.0.1:5555", xff: "198.51.100.1", trusted: trusted, want: "198.51.100.1"},
		{name: "untrusted peer: its header ignored", remote: "203.0.113.7:5555", xff: "198.51.100.1", trusted: trusted, want: "203.0.113.7"},
		{name: "unparseable peer: zero address", remote: "@", trusted: trusted, want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest(http.MethodPost, "/graphql", nil)
			r.RemoteAddr = tt.remote
			if tt.xff != "" {
				r.Header.Set("X-Forwarded-For", tt.xff)
			}
			_, s := begin(t, time.Minute, tt.trusted, r)
			var want netip.Addr
			if tt.want != "" {
				want = netip.MustParseAddr(tt.want)
			}
			if s.clientIP != want {
				t.Errorf("request.ClientIP = %v, want %v", s.clientIP, want)
			}
		})
	}
}

func TestBeginBoundsTheRequest(t *testing.T) {
	t.Parallel()
	const timeout = 7 * time.Second
	r := httptest.NewRequest(http.MethodPost, "/graphql", nil)
	before := time.Now()
	_, s := begin(t, timeout, nil, r)
	after := time.Now()
	if !s.hasDL {
		t.Fatal("next's context has no deadline")
	}
	if s.deadline.Before(before.Add(timeout)) || s.deadline.After(after.Add(timeout)) {
		t.Errorf("deadline %v, want %v after the request began (between %v and %v)",
			s.deadline, timeout, before.Add(timeout), after.Add(timeout))
	}
	// The context is released when the request is done.
	if err := s.ctx.Err(); !errors.Is(err, context.Canceled) {
		t.Errorf("context after Begin returned: %v, want context.Canceled", err)
	}
}

func TestBeginKeepsAShorterParentDeadline(t *testing.T) {
	t.Parallel()
	parent, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	want, _ := parent.Deadline()
	r := httptest.NewRequestWithContext(parent, http.MethodPost, "/graphql", nil)
	_, s := begin(t, time.Hour, nil, r)
	if !s.hasDL || !s.deadline.Equal(want) {
		t.Errorf("deadline %v (%v), want the parent's %v", s.deadline, s.hasDL, want)
	}
}

func TestBeginNegotiatesOnce(t *testing.T) {
	t.Parallel()
	tests := []struct {
		accept string
		want   Media
	}{
		{"", Media{MediaType: JSON, Acceptable: true}},
		{"application/json", Media{MediaType: JSON, Requested: true, Acceptable: true}},
		{"application/graphql-response+json", Media{MediaType: GraphQLResponseJSON, Requested: true, Acceptable: true}},
		{"application/graphql-response+json,application/json;q=0.9", Media{MediaType: GraphQLResponseJSON, Requested: true, Acceptable: true}},
		{"text/html", Media{MediaType: JSON, Requested: true}},
	}
	for _, tt := range tests {
		t.Run(tt.accept, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest(http.MethodPost, "/graphql", nil)
			if tt.accept != "" {
				r.Header.Set("Accept", tt.accept)
			}
			// next sets Accept: image/png before asking MediaOf, which
			// would be not acceptable if negotiated again.
			_, s := begin(t, time.Minute, nil, r)
			if s.media != tt.want {
				t.Errorf("MediaOf after Begin = %+v, want %+v", s.media, tt.want)
			}
		})
	}
}

func TestMediaOfWithoutBeginNegotiates(t *testing.T) {
	t.Parallel()
	r := httptest.NewRequest(http.MethodPost, "/graphql", nil)
	r.Header.Set("Accept", "application/graphql-response+json")
	if got := MediaOf(r); got.MediaType != GraphQLResponseJSON || !got.Acceptable || !got.Requested {
		t.Errorf("MediaOf = %+v, want graphql-response+json, requested and acceptable", got)
	}
	r.Header.Set("Accept", "text/html")
	if got := MediaOf(r); got.Acceptable {
		t.Errorf("MediaOf(text/html) = %+v, want not acceptable", got)
	}
}

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
		{name: "IPv4 entry with port", remote: "10.0.0.1:5555", xff: []string{"198.51.100.1:443"}, trusted: trusted, want: "198.51.100.1"},
		{name: "IPv6 peer", remote: "[2001:db8::1]:5555", want: "2001:db8::1"},
		{name: "IPv6 trusted proxy and client", remote: "[fd00::1]:5555", xff: []string{"2001:db8::7, fd00::2"}, trusted: trusted, want: "2001:db8::7"},
		{name: "IPv4-mapped peer matches an IPv4 prefix", remote: "[::ffff:10.0.0.1]:5555", xff: []string{"198.51.100.1"}, trusted: trusted, want: "198.51.100.1"},
		{name: "IPv4-mapped entry is unmapped and matched", remote: "10.0.0.1:5555", xff: []string{"198.51.100.1, ::ffff:10.0.0.9"}, trusted: trusted, want: "198.51.100.1"},
		{name: "IPv4-mapped client is unmapped", remote: "10.0.0.1:5555", xff: []string{"::ffff:198.51.100.1"}, trusted: trusted, want: "198.51.100.1"},
		{name: "IPv4-mapped untrusted peer is unmapped", remote: "[::ffff:203.0.113.7]:5555", want: "203.0.113.7"},
		{name: "zone dropped", remote: "[fe80::1%eth0]:5555", want: "fe80::1"},
		{name: "remote without port", remote: "203.0.113.7", want: "203.0.113.7"},
		{name: "unparseable remote", remote: "@", xff: []string{"1.2.3.4"}, trusted: trusted, want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest(http.MethodPost, "/graphql", nil)
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
