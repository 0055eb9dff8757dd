package clusterconf

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Frontend is one HTTP entry point of HAProxy and the servers it balances.
type Frontend struct {
	// Name names the frontend and its backend (letters, digits, '-' and
	// '_'); the backend's servers are named Name1, Name2, … in the order
	// of Servers (ServerName).
	Name string
	// Bind is the host:port the frontend listens on.
	Bind string
	// Servers are the host:port of the backend's servers.
	Servers []string
}

// ServerName is the name HAProxy gives the i-th server (from 0) of a
// frontend's backend: the frontend's name and i+1 ("web1").
func ServerName(frontend string, i int) string { return frontend + strconv.Itoa(i+1) }

// StatsPath is the path of HAProxy's stats page on its stats listener;
// StatsPath + ";csv" is the same in CSV (FetchServerStates).
const StatsPath = "/stats"

// The health checks of every server: GET /readyz every CheckInterval,
// every CheckFastInterval while a server is changing state. FallChecks
// failed checks in a row take a server out of rotation, RiseChecks passed
// ones put it back.
//
// Two failures rather than one, so that a single check lost on a loaded
// machine (a GC pause, a starved CPU) does not take a healthy replica
// out; with the fast interval after the first failure a replica that
// answers /readyz 503 (draining) or refuses connections (killed) is still
// out within about 300 ms, well inside a drain delay of 1 s; requests
// sent to a killed one meanwhile are retried elsewhere (see Render). Two
// successes to come back, so that a replica that is still starting, or
// flapping, is not sent traffic on one lucky answer: a restarted replica
// is back about 400 ms after it is ready.
const (
	CheckInterval     = 200 * time.Millisecond
	CheckFastInterval = 100 * time.Millisecond
	FallChecks        = 2
	RiseChecks        = 2
)

// HAProxyConfig is the configuration of an HAProxy in front of BFF
// replicas.
type HAProxyConfig struct {
	Frontends []Frontend
	// StatsBind is the host:port of the stats page (StatsPath).
	StatsBind string
}

var validName = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// Validate reports every problem of c at once.
func (c HAProxyConfig) Validate() error {
	var errs []error
	if len(c.Frontends) == 0 {
		errs = append(errs, errors.New("haproxy: no frontend"))
	}
	if c.StatsBind == "" {
		errs = append(errs, errors.New("haproxy: no stats address"))
	}
	seen := map[string]bool{"stats": true}
	for _, f := range c.Frontends {
		switch {
		case !validName.MatchString(f.Name):
			errs = append(errs, fmt.Errorf("haproxy: frontend name %q: want letters, digits, '-' or '_'", f.Name))
		case seen[f.Name]:
			errs = append(errs, fmt.Errorf("haproxy: frontend name %q is used twice (or reserved)", f.Name))
		}
		seen[f.Name] = true
		if f.Bind == "" {
			errs = append(errs, fmt.Errorf("haproxy: frontend %q has no address to bind", f.Name))
		}
		if len(f.Servers) == 0 {
			errs = append(errs, fmt.Errorf("haproxy: frontend %q has no server", f.Name))
		}
		for _, s := range f.Servers {
			if s == "" || strings.ContainsAny(s, " \t\n#") {
				errs = append(errs, fmt.Errorf("haproxy: frontend %q: bad server address %q", f.Name, s))
			}
		}
	}
	return errors.Join(errs...)
}

// Render returns the text of HAProxy's configuration file, commented: a
// copy of it is what `make run-cluster` leaves in var/cluster.
func (c HAProxyConfig) Render() ([]byte, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	w("# HAProxy in front of the BFF replicas, written by")
	w("# github.com/acme/bff-gateway/internal/e2e/cluster/clusterconf.")
	w("# Run in the foreground: haproxy -db -f <this file> (no daemon, so no")
	w("# pidfile: whoever started it has its pid).")
	w("")
	w("global")
	w("    log stdout format raw local0 info")
	w("    maxconn 4096")
	w("")
	w("defaults")
	w("    mode http")
	w("    log global")
	w("    option httplog")
	w("    # Connections that send nothing (readiness probes) are not logged.")
	w("    option dontlognull")
	w("    # Loopback: a connection is made at once or refused at once.")
	w("    timeout connect 1s")
	w("    # Beyond the BFFs' own bound of a request (timeouts.request, 10s).")
	w("    timeout client 15s")
	w("    timeout server 15s")
	w("    timeout http-request 5s")
	w("    timeout http-keep-alive 5s")
	w("    timeout queue 2s")
	w("    timeout check 1s")
	w("    # The BFFs see the client's address (http.trusted_proxies must list")
	w("    # this proxy's address for them to believe it).")
	w("    option forwardfor")
	w("    # Idle connections to the servers are reused, but the first request")
	w("    # of a client connection always gets its own.")
	w("    http-reuse safe")
	w("    # A request whose server refused the connection (killed, restarting),")
	w("    # closed it without a byte of answer (killed mid-request, or an idle")
	w("    # reused connection it had just closed while draining), or did not")
	w("    # answer within 'timeout server' is sent again, up to 3 times, each")
	w("    # time to another server (redispatch 1: every retry, not only the")
	w("    # last, and without the 1 s wait before retrying the same server).")
	w("    # conn-failure is always safe: nothing reached a server. The other two")
	w("    # may replay a request a server has already carried out: the BFFs'")
	w("    # GraphQL requests are all POSTs, and a mutation may run twice. That")
	w("    # is acceptable here because placeOrder is idempotent by its")
	w("    # idempotencyKey and login/logout are harmless to repeat; a replayed")
	w("    # cancelOrder may answer NOT_CANCELLABLE for an order it did cancel.")
	w("    # Drop empty-response and response-timeout where mutations are not")
	w("    # idempotent ('http-request disable-l7-retry' per request).")
	w("    retries 3")
	w("    retry-on conn-failure empty-response response-timeout")
	w("    option redispatch 1")
	w("    # Health checks: see the constants of clusterconf. Out after %d failed", FallChecks)
	w("    # checks, back after %d passed ones.", RiseChecks)
	w("    default-server inter %s fastinter %s downinter %s fall %d rise %d",
		ms(CheckInterval), ms(CheckFastInterval), ms(CheckInterval), FallChecks, RiseChecks)
	for _, f := range c.Frontends {
		w("")
		w("frontend %s", f.Name)
		w("    bind %s", f.Bind)
		w("    default_backend %s", f.Name)
		w("")
		w("backend %s", f.Name)
		w("    balance roundrobin")
		w("    # A draining BFF answers /readyz 503 at once: out of rotation.")
		w("    option httpchk")
		w("    http-check send meth GET uri /readyz ver HTTP/1.1 hdr Host localhost")
		w("    http-check expect status 200")
		for i, s := range f.Servers {
			w("    server %s %s check", ServerName(f.Name, i), s)
		}
	}
	w("")
	w("listen stats")
	w("    bind %s", c.StatsBind)
	w("    stats enable")
	w("    stats uri %s", StatsPath)
	w("    stats refresh 2s")
	w("    # Servers' addresses on the page (and in its CSV).")
	w("    stats show-legends")
	w("    # Polled by tests and tools: not logged.")
	w("    http-request set-log-level silent")
	return b.Bytes(), nil
}

// ms writes a duration the way HAProxy reads it.
func ms(d time.Duration) string { return strconv.FormatInt(d.Milliseconds(), 10) + "ms" }

// WriteFile renders c into the file at path.
func (c HAProxyConfig) WriteFile(path string) error {
	b, err := c.Render()
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o600)
}

// HAProxyArgs are the arguments that run haproxy in the foreground (no
// daemon, no master-worker: one process) with the configuration at path.
func HAProxyArgs(path string) []string { return []string{"-db", "-f", path} }

// CheckHAProxyConfig has haproxy check the configuration at path
// (haproxy -c), returning its complaints as the error.
func CheckHAProxyConfig(ctx context.Context, haproxy, path string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, haproxy, "-c", "-f", path).CombinedOutput()
	if err != nil {
		return fmt.Errorf("haproxy -c -f %s: %w\n%s", path, err, out)
	}
	return nil
}

// ServerState is one server of a backend as HAProxy's stats page shows it.
type ServerState struct {
	Backend string
	Server  string
	// Addr is the server's host:port.
	Addr string
	// Status is "UP", "DOWN", "UP 1/2" (going down: one failed check of
	// the two that take it out), "DOWN 1/2" (going up), "MAINT" or
	// "no check".
	Status string
	// CheckStatus is the last check's result: L7OK, L7STS (a status other
	// than 200, such as a draining replica's 503), L4CON (connection
	// refused), L4TOUT, …
	CheckStatus string
	// Sessions is how many requests (connections) it was given (stot).
	Sessions int64
	// Retries and Redispatches count the requests retried on it and
	// those moved from it to another server (wretr, wredis).
	Retries      int64
	Redispatches int64
	// FailedChecks and Downs count its failed checks and its transitions
	// from UP to DOWN (chkfail, chkdown).
	FailedChecks int64
	Downs        int64
}

// ParseServerStates reads the servers of the CSV of HAProxy's stats page
// (StatsPath + ";csv"), leaving out the frontends' and backends' own rows.
func ParseServerStates(r io.Reader) ([]ServerState, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("haproxy stats: %w", err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.TrimPrefix(h, "# ")] = i
	}
	for _, name := range []string{"pxname", "svname", "status", "stot", "wretr", "wredis", "chkfail", "chkdown", "check_status", "addr"} {
		if _, ok := col[name]; !ok {
			return nil, fmt.Errorf("haproxy stats: no %q column in %v", name, header)
		}
	}
	var states []ServerState
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return states, nil
		}
		if err != nil {
			return nil, fmt.Errorf("haproxy stats: %w", err)
		}
		field := func(name string) string {
			if i := col[name]; i < len(rec) {
				return rec[i]
			}
			return ""
		}
		num := func(name string) int64 { n, _ := strconv.ParseInt(field(name), 10, 64); return n }
		if sv := field("svname"); sv == "FRONTEND" || sv == "BACKEND" {
			continue
		}
		states = append(states, ServerState{
			Backend: field("pxname"), Server: field("svname"), Addr: field("addr"),
			Status: field("status"), CheckStatus: field("check_status"),
			Sessions: num("stot"), Retries: num("wretr"), Redispatches: num("wredis"),
			FailedChecks: num("chkfail"), Downs: num("chkdown"),
		})
	}
}

// FetchServerStates reads the server states from the stats page at
// statsURL (http://host:port + StatsPath).
func FetchServerStates(ctx context.Context, client *http.Client, statsURL string) ([]ServerState, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, statsURL+";csv", nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("haproxy stats: %s", resp.Status)
	}
	return ParseServerStates(resp.Body)
}
