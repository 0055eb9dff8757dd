package ratelimit

import (
	"context"
	"net/http"
	"net/netip"
	"strings"

	"github.com/acme/bff-gateway/internal/auth"
	"github.com/acme/bff-gateway/internal/requestctx"
)

// ClientIP returns the address of the client that sent r.
//
// It is the direct peer (r.RemoteAddr) unless that peer is a trusted proxy,
// that is in one of the trusted prefixes. Only then is X-Forwarded-For
// read, from right to left (the right-most entry was added by the nearest
// proxy), skipping addresses in trusted prefixes: the first address not in
// one is the client. Entries left of it were written by the client and are
// ignored, so a client cannot choose its own address. If every entry is
// trusted, the left-most is the client. If an entry does not parse, the
// search stops there and the last trusted hop (the proxy that handed over
// the garbage) is returned. Entries may carry a port ("192.0.2.1:443",
// "[2001:db8::1]:443"). IPv4-mapped IPv6 addresses are unmapped and zones
// dropped, so "::ffff:10.0.0.1" matches 10.0.0.0/8.
//
// The zero netip.Addr is returned when r.RemoteAddr does not parse.
func ClientIP(r *http.Request, trusted []netip.Prefix) netip.Addr {
	peer := parseAddr(r.RemoteAddr)
	if !peer.IsValid() || !isTrusted(peer, trusted) {
		return peer
	}
	client := peer
	values := r.Header.Values("X-Forwarded-For")
	for i := len(values) - 1; i >= 0; i-- {
		entries := strings.Split(values[i], ",")
		for j := len(entries) - 1; j >= 0; j-- {
			entry := strings.TrimSpace(entries[j])
			if entry == "" {
				continue // "a, , b", a trailing comma or an empty header
			}
			addr := parseAddr(entry)
			if !addr.IsValid() {
				return client
			}
			client = addr
			if !isTrusted(addr, trusted) {
				return client
			}
		}
	}
	return client
}

// parseAddr parses an address with or without a port, unmapping IPv4 in
// IPv6 and dropping any zone; the zero Addr when s is not an address.
func parseAddr(s string) netip.Addr {
	addr, err := netip.ParseAddr(s)
	if err != nil {
		ap, err := netip.ParseAddrPort(s)
		if err != nil {
			return netip.Addr{}
		}
		addr = ap.Addr()
	}
	return addr.Unmap().WithZone("")
}

func isTrusted(addr netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// PrincipalKey returns the bucket key of the caller of r:
//
//   - "user:<sub>" when the context carries an authenticated principal;
//   - else "key:<apiKeyName>" when apiKeyName is not empty;
//   - else "ip:<client>", with the client from ClientIP (see IPKey).
func PrincipalKey(r *http.Request, trusted []netip.Prefix, apiKeyName string) string {
	if p, ok := auth.PrincipalFromContext(r.Context()); ok && p.Subject != "" {
		return "user:" + p.Subject
	}
	if apiKeyName != "" {
		return "key:" + apiKeyName
	}
	return "ip:" + IPKey(ClientIP(r, trusted))
}

// IPKey returns the part of a bucket key that names a client address: the
// address itself for IPv4, and its /64 network for IPv6, since a single
// subscriber is routinely given a whole /64 (and so could otherwise take a
// fresh bucket for every request). An invalid address is "unknown", one
// bucket for every such caller.
func IPKey(addr netip.Addr) string {
	switch {
	case !addr.IsValid():
		return "unknown"
	case addr.Is4():
		return addr.String()
	default:
		return netip.PrefixFrom(addr, 64).Masked().String()
	}
}

// NewContextWithClientIP returns ctx carrying the client's address (kept
// in requestctx with the other request-scoped values). Middleware does it
// for every request, for the login resolvers' LoginLimiter.Allow.
func NewContextWithClientIP(ctx context.Context, addr netip.Addr) context.Context {
	return requestctx.NewContextWithClientIP(ctx, addr)
}

// ClientIPFromContext returns the client's address put in ctx, or the zero
// Addr.
func ClientIPFromContext(ctx context.Context) netip.Addr {
	addr, _ := requestctx.ClientIPFromContext(ctx)
	return addr
}
