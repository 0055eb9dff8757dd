// Package httpserver runs an http.Server with safe timeouts and a graceful
// shutdown when its context ends.
package httpserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// Timeouts are the server's connection limits. A zero field takes its
// value from DefaultTimeouts: net/http reads a zero as "no limit", which
// would let a slow client hold a connection forever.
type Timeouts struct {
	ReadHeader time.Duration
	Read       time.Duration
	Write      time.Duration
	Idle       time.Duration
	Shutdown   time.Duration
}

// DefaultTimeouts are safe limits for JSON APIs.
var DefaultTimeouts = Timeouts{
	ReadHeader: 5 * time.Second,
	Read:       15 * time.Second,
	Write:      30 * time.Second,
	Idle:       60 * time.Second,
	Shutdown:   10 * time.Second,
}

// MaxHeaderBytes caps the request headers; a request with larger headers
// is answered 431 before any handler runs.
const MaxHeaderBytes = 64 << 10

// orDefault returns d, or def when d is not positive.
func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// Server is a listening HTTP server.
type Server struct {
	srv      *http.Server
	ln       net.Listener
	shutdown time.Duration
	logger   *slog.Logger
}

// Listen binds addr and returns a server for handler, not yet serving.
// ctx bounds the binding only, not the serving (see Serve).
func Listen(ctx context.Context, addr string, handler http.Handler, t Timeouts, logger *slog.Logger) (*Server, error) {
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	return &Server{
		srv: &http.Server{
			Handler:           handler,
			ReadHeaderTimeout: orDefault(t.ReadHeader, DefaultTimeouts.ReadHeader),
			ReadTimeout:       orDefault(t.Read, DefaultTimeouts.Read),
			WriteTimeout:      orDefault(t.Write, DefaultTimeouts.Write),
			IdleTimeout:       orDefault(t.Idle, DefaultTimeouts.Idle),
			MaxHeaderBytes:    MaxHeaderBytes,
			ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		},
		ln:       ln,
		shutdown: orDefault(t.Shutdown, DefaultTimeouts.Shutdown),
		logger:   logger,
	}, nil
}

// Addr returns the address the server listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// URL returns the server's base URL.
func (s *Server) URL() string { return "http://" + s.Addr() }

// StopKeepAlives closes the server's idle connections and has every
// answer from now on close its connection, so that clients and load
// balancers open their next ones elsewhere: the first step of a drain.
func (s *Server) StopKeepAlives() { s.srv.SetKeepAlivesEnabled(false) }

// Close releases the listener of a server that will not serve.
func (s *Server) Close() error { return s.ln.Close() }

// Serve serves until ctx ends, then shuts down gracefully within the
// shutdown timeout. It returns nil after a clean shutdown.
func (s *Server) Serve(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- s.srv.Serve(s.ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.shutdown)
	defer cancel()
	if err := s.srv.Shutdown(shutdownCtx); err != nil {
		_ = s.srv.Close()
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}
