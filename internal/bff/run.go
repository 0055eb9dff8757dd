package bff

import (
	"context"
	"errors"
	"flag"
	"io"
	"net/http"

	"golang.org/x/sync/errgroup"

	"github.com/acme/bff-gateway/internal/bff/config"
	"github.com/acme/bff-gateway/internal/httpserver"
	"github.com/acme/bff-gateway/internal/telemetry"
)

// Build makes a BFF's handler from its options.
type Build func(Options) (http.Handler, error)

// Run is a BFF's main: it reads the configuration (the YAML file named by
// -config or BFF_CONFIG, then the environment), sets up its telemetry (the
// OTEL_* variables for tracing), builds the handler and serves it, and the
// admin listener (/metrics; pprof in development), until ctx ends.
func Run(ctx context.Context, kind config.Kind, args []string, getenv func(string) string, stderr io.Writer, build Build) error {
	name := "bff-" + string(kind)
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", getenv("BFF_CONFIG"), "YAML configuration file (env BFF_CONFIG)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := config.Load(kind, *path, getenv)
	if err != nil {
		return err
	}
	logger := telemetry.NewLogger(stderr, name)
	tel, err := telemetry.New(ctx, name, telemetry.EnvFrom(getenv))
	if err != nil {
		return err
	}
	h, err := build(Options{Kind: kind, Config: cfg, Logger: logger, Telemetry: tel})
	if err != nil {
		return err
	}
	srv, err := httpserver.Listen(ctx, cfg.ListenAddr, h, httpserver.DefaultTimeouts, logger)
	if err != nil {
		return err
	}
	admin, err := httpserver.Listen(ctx, cfg.AdminAddr, tel.AdminHandler(!cfg.Production()), httpserver.DefaultTimeouts, logger)
	if err != nil {
		_ = srv.Close()
		return err
	}
	logger.InfoContext(ctx, "listening", "url", srv.URL(), "admin", admin.URL(), "env", cfg.Env, "tracing", tel.Exporting)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return srv.Serve(gctx) })
	g.Go(func() error { return admin.Serve(gctx) })
	err = g.Wait()
	return errors.Join(err, tel.Shutdown(context.WithoutCancel(ctx)))
}
