// Package requestctx holds the request-scoped values carried in a
// context.Context, each with a private key type and a pair of
// NewContextWithX / XFromContext helpers.
package requestctx

import (
	"context"
	"log/slog"
	"net/netip"
)

type requestIDKey struct{}
type loggerKey struct{}

// NewContextWithRequestID returns ctx carrying the request id.
func NewContextWithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestIDFromContext returns the request id, or "".
func RequestIDFromContext(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// NewContextWithLogger returns ctx carrying a request-scoped logger.
func NewContextWithLogger(ctx context.Context, l *slog.Logger) context.Context {
	return context.WithValue(ctx, loggerKey{}, l)
}

// LoggerFromContext returns the request-scoped logger, or slog.Default().
func LoggerFromContext(ctx context.Context) *slog.Logger {
	if l, ok := ctx.Value(loggerKey{}).(*slog.Logger); ok {
		return l
	}
	return slog.Default()
}

type clientKey struct{}
type clientIPKey struct{}

// NewContextWithClient returns ctx carrying the name of the calling
// application (a mobile API key's name), never the key itself.
func NewContextWithClient(ctx context.Context, name string) context.Context {
	return context.WithValue(ctx, clientKey{}, name)
}

// ClientFromContext returns the calling application's name, or "".
func ClientFromContext(ctx context.Context) string {
	n, _ := ctx.Value(clientKey{}).(string)
	return n
}

// NewContextWithClientIP returns ctx carrying the caller's address as the
// edge determined it (X-Forwarded-For only from trusted proxies).
func NewContextWithClientIP(ctx context.Context, ip netip.Addr) context.Context {
	return context.WithValue(ctx, clientIPKey{}, ip)
}

// ClientIPFromContext returns the caller's address, if known.
func ClientIPFromContext(ctx context.Context) (netip.Addr, bool) {
	ip, ok := ctx.Value(clientIPKey{}).(netip.Addr)
	return ip, ok
}
