package cluster

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/acme/bff-gateway/internal/e2e/cluster/clusterconf"
)

// Frontend is one entry point of HAProxy: Name names it and its backend,
// whose servers, Servers (host:port), are named Name1, Name2, … Bind is
// left empty for a free port.
type Frontend = clusterconf.Frontend

// ServerState is one server as HAProxy's stats page shows it.
type ServerState = clusterconf.ServerState

// HAProxy is an HAProxy of the test in front of BFF replicas. Stop, Start
// and Kill are its Process's, whose Addr is its stats page's.
type HAProxy struct {
	*Process
	// ConfigPath is its configuration file (see clusterconf.HAProxyConfig
	// for the settings and why).
	ConfigPath string
	frontends  []Frontend
}

// StartHAProxy writes the configuration of HAProxy with frontends, each
// on a free port (unless its Bind is set) balancing its servers round
// robin with health checks on GET /readyz, and its stats page on a free
// port; checks it (haproxy -c), starts haproxy in the foreground and
// waits until the stats page and every frontend answer. The servers may
// not be UP yet: see WaitServersUp. Without haproxy the test skips, or
// fails under CI (Require).
func StartHAProxy(t testing.TB, frontends []Frontend) *HAProxy {
	t.Helper()
	path := Require(t, "haproxy")
	var h *HAProxy
	startOnFreePorts(t, func() *Process {
		fes := make([]Frontend, len(frontends))
		for i, f := range frontends {
			f.Servers = slices.Clone(f.Servers)
			if f.Bind == "" {
				f.Bind = FreeAddr(t)
			}
			fes[i] = f
		}
		p := newProcess(t, "haproxy", path)
		p.Addr = FreeAddr(t)
		p.StopTimeout = 10 * time.Second
		cfg := clusterconf.HAProxyConfig{Frontends: fes, StatsBind: p.Addr}
		cfgPath := filepath.Join(p.Dir, "haproxy.cfg")
		if err := cfg.WriteFile(cfgPath); err != nil {
			t.Fatal(err)
		}
		if err := clusterconf.CheckHAProxyConfig(context.Background(), path, cfgPath); err != nil {
			t.Fatal(err)
		}
		p.Args = clusterconf.HAProxyArgs(cfgPath)
		h = &HAProxy{Process: p, ConfigPath: cfgPath, frontends: fes}
		p.ready = h.answers
		return p
	})
	return h
}

// answers is HAProxy's readiness: its stats page answers and every
// frontend accepts connections.
func (h *HAProxy) answers(ctx context.Context) error {
	if _, err := h.ServerStates(ctx); err != nil {
		return err
	}
	var d net.Dialer
	for _, f := range h.frontends {
		conn, err := d.DialContext(ctx, "tcp", f.Bind)
		if err != nil {
			return err
		}
		conn.Close()
	}
	return nil
}

// Frontends are the frontends as started, each with its address.
func (h *HAProxy) Frontends() []Frontend { return slices.Clone(h.frontends) }

func (h *HAProxy) frontend(name string) (Frontend, bool) {
	for _, f := range h.frontends {
		if f.Name == name {
			return f, true
		}
	}
	return Frontend{}, false
}

// FrontendURL returns "http://host:port" of the frontend named name ("" if
// there is none): the BFF replicas behind it answer at FrontendURL +
// "/graphql".
func (h *HAProxy) FrontendURL(name string) string {
	if f, ok := h.frontend(name); ok {
		return "http://" + f.Bind
	}
	return ""
}

// StatsURL is the URL of the stats page (for people: the CSV is at
// StatsURL + ";csv").
func (h *HAProxy) StatsURL() string { return h.URL() + clusterconf.StatsPath }

// ServerStates reads every server's state from the stats page.
func (h *HAProxy) ServerStates(ctx context.Context) ([]ServerState, error) {
	return clusterconf.FetchServerStates(ctx, probeClient, h.StatsURL())
}

// ServerName returns the name HAProxy gives server, a server of frontend
// named either by its name ("web2") or by its address ("127.0.0.1:P").
func (h *HAProxy) ServerName(frontend, server string) (string, error) {
	f, ok := h.frontend(frontend)
	if !ok {
		return "", fmt.Errorf("haproxy: no frontend %q", frontend)
	}
	for i, addr := range f.Servers {
		if name := clusterconf.ServerName(f.Name, i); server == name || server == addr {
			return name, nil
		}
	}
	return "", fmt.Errorf("haproxy: frontend %q has no server %q (servers: %s)", frontend, server, strings.Join(f.Servers, ", "))
}

// ServerState returns the state of one server of frontend, named by its
// name or its address.
func (h *HAProxy) ServerState(ctx context.Context, frontend, server string) (ServerState, error) {
	name, err := h.ServerName(frontend, server)
	if err != nil {
		return ServerState{}, err
	}
	states, err := h.ServerStates(ctx)
	if err != nil {
		return ServerState{}, err
	}
	for _, s := range states {
		if s.Backend == frontend && s.Server == name {
			return s, nil
		}
	}
	return ServerState{}, fmt.Errorf("haproxy: the stats page does not show %s/%s", frontend, name)
}

// WaitServerState waits until HAProxy shows server (a name, "web2", or
// an address) of frontend in state want: "UP" (in rotation) or "DOWN"
// (out of it: the transitional "UP 1/2" and "DOWN 1/2" are neither); it
// fails the test after timeout, and returns how long it waited.
func (h *HAProxy) WaitServerState(t testing.TB, frontend, server, want string, timeout time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	var last ServerState
	var err error
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		last, err = h.ServerState(ctx, frontend, server)
		cancel()
		if err == nil && last.Status == want {
			return time.Since(start)
		}
		if time.Since(start) > timeout {
			if err != nil {
				t.Fatalf("haproxy: %s/%s not %s within %s: %v", frontend, server, want, timeout, err)
			}
			t.Fatalf("haproxy: %s/%s not %s within %s: %s, last check %s", frontend, server, want, timeout, last.Status, last.CheckStatus)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// WaitServersUp waits until every server of every frontend is UP, failing
// the test after timeout; it returns how long it waited.
func (h *HAProxy) WaitServersUp(t testing.TB, timeout time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for _, f := range h.frontends {
		for i := range f.Servers {
			left := max(timeout-time.Since(start), 0)
			h.WaitServerState(t, f.Name, clusterconf.ServerName(f.Name, i), "UP", left)
		}
	}
	return time.Since(start)
}
