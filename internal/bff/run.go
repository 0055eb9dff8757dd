package bff

import (
	"context"
	"flag"
	"io"
	"log/slog"
	"net/http"

	"github.com/acme/bff-gateway/internal/bff/config"
	"github.com/acme/bff-gateway/internal/httpserver"
)

// Build makes a BFF's handler from its options.
type Build func(Options) (http.Handler, error)

// Run is a BFF's main: it reads the configuration (the YAML file named by
// -config or BFF_CONFIG, then the environment), builds the handler and
// serves until ctx ends.
func Run(ctx context.Context, kind config.Kind, args []string, getenv func(string) string, stderr io.Writer, build Build) error {
	fs := flag.NewFlagSet("bff-"+string(kind), flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", getenv("BFF_CONFIG"), "YAML configuration file (env BFF_CONFIG)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := config.Load(kind, *path, getenv)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewJSONHandler(stderr, nil)).With("service", "bff-"+string(kind))
	h, err := build(Options{Kind: kind, Config: cfg, Logger: logger})
	if err != nil {
		return err
	}
	srv, err := httpserver.Listen(ctx, cfg.ListenAddr, h, httpserver.DefaultTimeouts, logger)
	if err != nil {
		return err
	}
	logger.InfoContext(ctx, "listening", "url", srv.URL(), "env", cfg.Env)
	return srv.Serve(ctx)
}
