// Package timezone carries the mobile app's time zone through a request:
// middleware reads the IANA name the app sends in the X-Timezone header,
// and resolvers read the location back with LocationFromContext. An absent
// or unknown zone is UTC.
package timezone

import (
	"context"
	"net/http"
	"sync"
	"time"

	// The zone database is embedded so that every IANA name resolves the
	// same way on any host, with or without its own zoneinfo files.
	_ "time/tzdata"
)

// Header is the request header with the client's IANA time zone name,
// e.g. "Europe/Paris".
const Header = "X-Timezone"

// maxNameLen bounds a zone name; the longest IANA names are about 32
// characters. Longer values are not looked up at all.
const maxNameLen = 64

// maxCached bounds the cache of loaded zones. Only names that load are
// cached, and the zone database holds fewer than this many.
const maxCached = 1024

type locationKey struct{}

// NewContextWithLocation returns ctx carrying the client's location.
func NewContextWithLocation(ctx context.Context, loc *time.Location) context.Context {
	return context.WithValue(ctx, locationKey{}, loc)
}

// LocationFromContext returns the client's location, or UTC when there is
// none.
func LocationFromContext(ctx context.Context) *time.Location {
	if loc, ok := ctx.Value(locationKey{}).(*time.Location); ok && loc != nil {
		return loc
	}
	return time.UTC
}

// Middleware puts the location named by the X-Timezone header in the
// request's context: UTC when the header is absent or names no zone. It
// never refuses a request.
func Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		loc := Lookup(r.Header.Get(Header))
		next.ServeHTTP(w, r.WithContext(NewContextWithLocation(r.Context(), loc)))
	})
}

var (
	mu     sync.RWMutex
	loaded = map[string]*time.Location{}
)

// Lookup returns the location of an IANA zone name, or UTC for an empty,
// unknown or malformed name. "Local" (the server's own zone) is not a
// client's zone and is UTC too. Loaded zones are cached.
func Lookup(name string) *time.Location {
	if name == "" || name == "Local" || len(name) > maxNameLen {
		return time.UTC
	}
	mu.RLock()
	loc, ok := loaded[name]
	mu.RUnlock()
	if ok {
		return loc
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return time.UTC
	}
	mu.Lock()
	if len(loaded) < maxCached {
		loaded[name] = loc
	}
	mu.Unlock()
	return loc
}
