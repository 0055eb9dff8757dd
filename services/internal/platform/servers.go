package platform

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"golang.org/x/sync/errgroup"

	"github.com/acme/bff-gateway/internal/httpserver"
	"github.com/acme/bff-gateway/internal/telemetry"
)

// Servers are a service's two listeners: the public one, and the admin one
// that serves its telemetry's /metrics (and pprof in development).
type Servers struct {
	Public, Admin *httpserver.Server
	tel           *telemetry.Telemetry
}

// Listen binds the public address to handler and the admin address to
// tel's admin handler (pprof when c.Env is development).
func Listen(ctx context.Context, c *Common, handler http.Handler, tel *telemetry.Telemetry, logger *slog.Logger) (*Servers, error) {
	public, err := httpserver.Listen(ctx, c.ListenAddr, handler, httpserver.DefaultTimeouts, logger)
	if err != nil {
		return nil, err
	}
	admin, err := httpserver.Listen(ctx, c.AdminAddr, tel.AdminHandler(c.Env == "development"), httpserver.DefaultTimeouts, logger)
	if err != nil {
		_ = public.Close()
		return nil, err
	}
	return &Servers{Public: public, Admin: admin, tel: tel}, nil
}

// Serve serves both until ctx ends, shuts both down, and then flushes the
// spans not yet exported.
func (s *Servers) Serve(ctx context.Context) error {
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return s.Public.Serve(gctx) })
	g.Go(func() error { return s.Admin.Serve(gctx) })
	err := g.Wait()
	return errors.Join(err, s.tel.Shutdown(context.WithoutCancel(ctx)))
}

// Close releases both listeners without serving (a start that failed
// after Listen).
func (s *Servers) Close() error {
	return errors.Join(s.Public.Close(), s.Admin.Close())
}
