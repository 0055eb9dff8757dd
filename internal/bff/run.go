package bff

import (
	"context"
	"errors"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/acme/bff-gateway/internal/bff/config"
	"github.com/acme/bff-gateway/internal/bff/redisstore"
	"github.com/acme/bff-gateway/internal/httpserver"
	"github.com/acme/bff-gateway/internal/telemetry"
)

// Build makes a BFF's handler from its options.
type Build func(Options) (http.Handler, error)

// Run is a BFF's main: it reads the configuration (the YAML file named by
// -config or BFF_CONFIG, then the environment), sets up its telemetry (the
// OTEL_* variables for tracing) and, with redis.url, its connection to the
// Redis the replicas share, builds the handler and serves it, and the
// admin listener (/metrics; pprof in development), until ctx ends. Then it
// drains: /readyz answers 503 at once, connections stop being kept alive,
// and it goes on serving for shutdown.drain_delay, so that load balancers
// take it out of rotation before it stops accepting; requests in flight
// then have shutdown.timeout to finish.
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
	gcPercent, memLimit := tuneMemory(cfg.Memory, getenv)
	logger.InfoContext(ctx, "garbage collector", slog.Int("gc_percent", gcPercent), slog.Int64("memory_limit_bytes", memLimit))
	tel, err := telemetry.New(ctx, name, telemetry.EnvFrom(getenv))
	if err != nil {
		return err
	}
	var shared *redisstore.Client
	if cfg.Redis.Shared() {
		if shared, err = redisstore.Open(redisstore.Options{
			URL: cfg.Redis.URL, Timeout: cfg.Redis.Timeout, Prefix: name, Tracer: tel.Tracer,
		}); err != nil {
			return err
		}
		defer shared.Close()
		if err := shared.Ping(ctx); err != nil {
			logger.WarnContext(ctx, "Redis does not answer yet; the shared stores fall back until it does", slog.Any("err", err))
		}
	}
	var draining atomic.Bool
	h, err := build(Options{Kind: kind, Config: cfg, Logger: logger, Telemetry: tel, Shared: shared, Draining: draining.Load})
	if err != nil {
		return err
	}
	timeouts := httpserver.DefaultTimeouts
	timeouts.Shutdown = cfg.Shutdown.Timeout
	srv, err := httpserver.Listen(ctx, cfg.ListenAddr, h, timeouts, logger)
	if err != nil {
		return err
	}
	admin, err := httpserver.Listen(ctx, cfg.AdminAddr, tel.AdminHandler(!cfg.Production()), httpserver.DefaultTimeouts, logger)
	if err != nil {
		_ = srv.Close()
		return err
	}
	logger.InfoContext(ctx, "listening", "url", srv.URL(), "admin", admin.URL(), "env", cfg.Env,
		"tracing", tel.Exporting, "shared_state", cfg.Redis.Shared())

	// The servers outlive ctx by the drain; a server that fails ends
	// everything at once.
	serving, stop := context.WithCancel(context.WithoutCancel(ctx))
	defer stop()
	g, gctx := errgroup.WithContext(serving)
	g.Go(func() error { return srv.Serve(gctx) })
	g.Go(func() error { return admin.Serve(gctx) })
	g.Go(func() error {
		select {
		case <-gctx.Done():
			return nil
		case <-ctx.Done():
		}
		draining.Store(true)
		srv.StopKeepAlives()
		logger.InfoContext(gctx, "draining: /readyz answers 503; serving on until the load balancer has noticed",
			slog.Duration("drain_delay", cfg.Shutdown.DrainDelay), slog.Duration("timeout", cfg.Shutdown.Timeout))
		select {
		case <-time.After(cfg.Shutdown.DrainDelay):
		case <-gctx.Done():
		}
		stop()
		return nil
	})
	err = g.Wait()
	logger.InfoContext(context.WithoutCancel(ctx), "stopped")
	return errors.Join(err, tel.Shutdown(context.WithoutCancel(ctx)))
}
