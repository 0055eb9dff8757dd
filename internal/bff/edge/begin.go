package edge

import (
	"context"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/acme/bff-gateway/internal/bff/request"
)

type mediaKey struct{}

// Begin starts a GraphQL request: it bounds the whole request by timeout,
// determines the client's address (ClientIP) and the answer's media type
// (Negotiate) once, for every later step, and says (Vary: Accept) that
// the answer varies with the Accept header.
func Begin(timeout time.Duration, trusted []netip.Prefix) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Add("Vary", "Accept")
			ctx, cancel := context.WithTimeout(r.Context(), timeout)
			defer cancel()
			ctx = request.NewContextWithClientIP(ctx, ClientIP(r, trusted))
			ctx = context.WithValue(ctx, mediaKey{}, Negotiate(r))
			next.ServeHTTP(w, r.WithContext(ctx))
		})
	}
}

// MediaOf returns the media type Begin negotiated for r, or negotiates it
// when Begin did not run.
func MediaOf(r *http.Request) Media {
	if m, ok := r.Context().Value(mediaKey{}).(Media); ok {
		return m
	}
	return Negotiate(r)
}

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

// allowedMethods are the methods /graphql serves (OPTIONS for CORS).
const allowedMethods = "GET, POST, OPTIONS"

// RequestsOnly refuses, before the guard reads anything, what is not a
// GraphQL-over-HTTP request the BFF serves: a method other than GET, POST
// and OPTIONS (405 METHOD_NOT_ALLOWED with Allow), a POST whose body is not
// application/json (415 UNSUPPORTED_MEDIA_TYPE with Accept:
// application/json; a missing Content-Type too), a request to upgrade the
// connection (400 BAD_USER_INPUT: the BFFs serve no WebSocket transport),
// and an Accept header that admits neither application/graphql-response+json
// nor application/json (406 NOT_ACCEPTABLE). OPTIONS passes on (gqlgen
// answers it with Allow).
func RequestsOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet:
		case http.MethodPost:
			if !IsJSON(r.Header.Get("Content-Type")) {
				w.Header().Set("Accept", JSON)
				Refuse(w, r, http.StatusUnsupportedMediaType, CodeUnsupportedMediaType,
					"a GraphQL POST body must be application/json; send the Content-Type header")
				return
			}
		case http.MethodOptions:
			next.ServeHTTP(w, r)
			return
		default:
			w.Header().Set("Allow", allowedMethods)
			Refuse(w, r, http.StatusMethodNotAllowed, CodeMethodNotAllowed,
				"GraphQL requests are sent with GET (queries) or POST")
			return
		}
		if r.Header.Get("Upgrade") != "" {
			Refuse(w, r, http.StatusBadRequest, CodeBadUserInput,
				"transport not supported: send GraphQL requests with GET or POST, not over a WebSocket")
			return
		}
		if !MediaOf(r).Acceptable {
			Refuse(w, r, http.StatusNotAcceptable, CodeNotAcceptable,
				"the Accept header must admit application/graphql-response+json or application/json")
			return
		}
		next.ServeHTTP(w, r)
	})
}
