// Command devstack runs the whole stack for development (make run): it
// starts each service binary from ./bin on its default port with the
// embedded SQLite default, waits until each is ready, prints the URLs and
// the demo accounts, and stops everything cleanly on Ctrl-C.
//
// With -cluster (make run-cluster) it runs the stack scaled out instead:
// redis-server, the services, three replicas of each BFF sharing their
// state in Redis, and HAProxy in front of each BFF on the BFF's usual
// port (see cluster.go).
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/acme/bff-gateway/internal/addrs"
	"github.com/acme/bff-gateway/internal/bff/apikey"
	"github.com/acme/bff-gateway/internal/e2e/cluster/clusterconf"
	"github.com/acme/bff-gateway/internal/seed"
)

// process is one binary of the stack.
type process struct {
	name   string
	binary string
	args   []string
	url    string
	admin  string // "" when it has no admin listener
	env    []string
	// ready reports whether it is ready; nil means GET url/readyz
	// answers 200.
	ready func(ctx context.Context) error
	cmd   *exec.Cmd
	// exited is closed when the process has exited.
	exited chan struct{}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "devstack:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("devstack", flag.ContinueOnError)
	binDir := fs.String("bin", "./bin", "directory of the built binaries")
	logDir := fs.String("logs", "./var/log", "directory for the services' logs")
	scaled := fs.Bool("cluster", false, "run Redis, three replicas of each BFF and HAProxy in front of them")
	clusterDir := fs.String("cluster-dir", "./var/cluster", "directory of the cluster's Redis and configuration files")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := os.MkdirAll(*logDir, 0o750); err != nil {
		return fmt.Errorf("create log directory: %w", err)
	}
	token := getenvOr("SERVICE_TOKEN", randomToken())
	procs := stackProcesses(*binDir, token)
	banner := func() { printBanner(out, procs, *logDir) }
	if *scaled {
		plan, err := planCluster(*binDir, *clusterDir, token, getenvOr("SESSION_KEYS", clusterconf.NewSessionKey()))
		if err != nil {
			return fmt.Errorf("make run-cluster: %w", err)
		}
		if err := plan.write(); err != nil {
			return err
		}
		procs = plan.procs
		banner = func() { printClusterBanner(out, plan, *logDir) }
	}

	var started []*process
	defer func() {
		stopAll(started)
		fmt.Fprintln(out, "stack stopped")
	}()
	for _, p := range procs {
		if err := p.start(ctx, *logDir); err != nil {
			return err
		}
		started = append(started, p)
		if err := waitReady(ctx, p); err != nil {
			return err
		}
	}
	banner()
	<-ctx.Done()
	fmt.Fprintln(out, "\nstopping…")
	return nil
}

// stackProcesses are the services and one of each BFF on their default
// ports. The BFFs do not wait before they stop (DRAIN_DELAY=0s): no load
// balancer is there to take them out of rotation, and Ctrl-C should be
// prompt.
func stackProcesses(binDir, serviceToken string) []*process {
	web := mk(binDir, "bff-web", addrs.BFFWeb, addrs.BFFWebAdmin, serviceToken)
	mobile := mk(binDir, "bff-mobile", addrs.BFFMobile, addrs.BFFMobileAdmin, serviceToken)
	for _, p := range []*process{web, mobile} {
		p.env = append(p.env, "DRAIN_DELAY=0s")
	}
	return append(serviceProcesses(binDir, serviceToken), web, mobile)
}

// serviceProcesses are the three services on their default ports, in the
// order they start: the others fetch the user service's keys, the order
// service calls the product service.
func serviceProcesses(binDir, serviceToken string) []*process {
	return []*process{
		mk(binDir, "user", addrs.User, addrs.UserAdmin, serviceToken),
		mk(binDir, "product", addrs.Product, addrs.ProductAdmin, serviceToken),
		mk(binDir, "order", addrs.Order, addrs.OrderAdmin, serviceToken),
	}
}

// mk is the binary name of binDir listening on addr, its admin listener
// on admin, pointed at the services.
func mk(binDir, name, addr, admin, serviceToken string) *process {
	return &process{
		name:   name,
		binary: filepath.Join(binDir, name),
		url:    "http://" + addr,
		admin:  "http://" + admin,
		env: []string{
			"LISTEN_ADDR=" + addr, "ADMIN_ADDR=" + admin,
			"USER_SERVICE_URL=" + addrs.UserURL,
			"ORDER_SERVICE_URL=" + addrs.OrderURL,
			"PRODUCT_SERVICE_URL=" + addrs.ProductURL,
			"SERVICE_TOKEN=" + serviceToken,
		},
	}
}

func (p *process) start(ctx context.Context, logDir string) error {
	logFile, err := os.OpenFile(filepath.Join(logDir, p.name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return fmt.Errorf("open %s log: %w", p.name, err)
	}
	// The process outlives ctx on purpose: when ctx ends (Ctrl-C), stop
	// ends the services gracefully and in order, where a cancelled
	// command would be killed at once.
	p.cmd = exec.CommandContext(context.WithoutCancel(ctx), p.binary, p.args...)
	p.cmd.Env = append(os.Environ(), p.env...)
	p.cmd.Stdout = logFile
	p.cmd.Stderr = logFile
	// Own process group: Ctrl-C reaches devstack, which stops the
	// services in order.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", p.name, err)
	}
	p.exited = make(chan struct{})
	go func() { _ = p.cmd.Wait(); _ = logFile.Close(); close(p.exited) }()
	return nil
}

// stopAll stops procs: the load balancer first, then the BFFs together
// (each waits out its drain delay), then the rest in the reverse of their
// order.
func stopAll(procs []*process) {
	isBFF := func(p *process) bool { return strings.HasPrefix(p.name, "bff-") }
	for _, p := range procs {
		if p.name == "haproxy" {
			p.stop()
		}
	}
	var bffs sync.WaitGroup
	for _, p := range procs {
		if isBFF(p) {
			bffs.Go(p.stop)
		}
	}
	bffs.Wait()
	for i := len(procs) - 1; i >= 0; i-- {
		if p := procs[i]; !isBFF(p) && p.name != "haproxy" {
			p.stop()
		}
	}
}

func (p *process) stop() {
	if p.cmd == nil || p.cmd.Process == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(15 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

// waitReady polls the process's /readyz until it answers 200.
func waitReady(ctx context.Context, p *process) error {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		select {
		case <-p.exited:
			return fmt.Errorf("%s exited: see var/log/%s.log (is its port taken?)", p.name, p.name)
		default:
		}
		probe := p.ready
		if probe == nil {
			probe = clusterconf.HTTPReady(p.url)
		}
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		err := probe(pctx)
		cancel()
		if err == nil {
			return nil
		}
		time.Sleep(150 * time.Millisecond)
	}
	return errors.New(p.name + " did not become ready within 60s (is the port taken?)")
}

func printBanner(out io.Writer, procs []*process, logDir string) {
	fmt.Fprintln(out, "\nThe stack is up (Ctrl-C stops it):")
	for _, p := range procs {
		switch p.name {
		case "bff-web", "bff-mobile":
			fmt.Fprintf(out, "  %-10s %s/graphql   playground: %s/\n", p.name, p.url, p.url)
		default:
			fmt.Fprintf(out, "  %-10s %s   (API description: %s/openapi.yaml)\n", p.name, p.url, p.url)
		}
	}
	fmt.Fprintln(out, "\nMetrics (each process's admin listener; pprof at /debug/pprof/):")
	for _, p := range procs {
		fmt.Fprintf(out, "  %-10s %s/metrics\n", p.name, p.admin)
	}
	fmt.Fprintln(out, "\nDemo accounts:")
	for _, a := range seed.FixedAccounts {
		fmt.Fprintf(out, "  %-20s %-10s %s\n", a.Email, a.Password, a.Role)
	}
	fmt.Fprintf(out, "\nMobile dev API key (X-API-Key): %s\n", apikey.DevKey)
	fmt.Fprintln(out, "\nA first query (the public catalogue, no sign-in needed):")
	fmt.Fprintf(out, "  curl -s http://%s/graphql -H 'Content-Type: application/json' \\\n", addrs.BFFWeb)
	fmt.Fprintln(out, `    -d '{"query":"{ featuredProducts(first: 3) { name price { formatted } } }"}'`)
	fmt.Fprintf(out, "\nLogs: %s/*.log  Data: ./var\n", logDir)
}

func randomToken() string {
	var b [24]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func getenvOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
