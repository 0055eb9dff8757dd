// Command devstack runs the whole stack for development (make run): it
// starts each service binary from ./bin on its default port with the
// embedded SQLite default, waits until each is ready, prints the URLs and
// the demo accounts, and stops everything cleanly on Ctrl-C.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/acme/bff-gateway/internal/addrs"
	"github.com/acme/bff-gateway/internal/bff/apikey"
	"github.com/acme/bff-gateway/internal/seed"
)

// process is one binary of the stack.
type process struct {
	name   string
	binary string
	url    string
	admin  string
	env    []string
	cmd    *exec.Cmd
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
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := os.MkdirAll(*logDir, 0o750); err != nil {
		return fmt.Errorf("create log directory: %w", err)
	}
	token := getenvOr("SERVICE_TOKEN", randomToken())
	procs := stackProcesses(*binDir, token)

	var started []*process
	defer func() {
		for i := len(started) - 1; i >= 0; i-- {
			started[i].stop()
		}
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
	printBanner(out, procs, *logDir)
	<-ctx.Done()
	fmt.Fprintln(out, "\nstopping…")
	return nil
}

func stackProcesses(binDir, serviceToken string) []*process {
	shared := []string{
		"USER_SERVICE_URL=" + addrs.UserURL,
		"ORDER_SERVICE_URL=" + addrs.OrderURL,
		"PRODUCT_SERVICE_URL=" + addrs.ProductURL,
		"SERVICE_TOKEN=" + serviceToken,
	}
	mk := func(name, addr, admin string) *process {
		return &process{
			name:   name,
			binary: filepath.Join(binDir, name),
			url:    "http://" + addr,
			admin:  "http://" + admin,
			env:    append([]string{"LISTEN_ADDR=" + addr, "ADMIN_ADDR=" + admin}, shared...),
		}
	}
	return []*process{
		mk("user", addrs.User, addrs.UserAdmin),
		mk("product", addrs.Product, addrs.ProductAdmin),
		mk("order", addrs.Order, addrs.OrderAdmin),
		mk("bff-web", addrs.BFFWeb, addrs.BFFWebAdmin),
		mk("bff-mobile", addrs.BFFMobile, addrs.BFFMobileAdmin),
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
	p.cmd = exec.CommandContext(context.WithoutCancel(ctx), p.binary)
	p.cmd.Env = append(os.Environ(), p.env...)
	p.cmd.Stdout = logFile
	p.cmd.Stderr = logFile
	// Own process group: Ctrl-C reaches devstack, which stops the
	// services in order.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", p.name, err)
	}
	return nil
}

func (p *process) stop() {
	if p.cmd == nil || p.cmd.Process == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		_ = p.cmd.Process.Kill()
		<-done
	}
}

// waitReady polls the process's /readyz until it answers 200.
func waitReady(ctx context.Context, p *process) error {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if p.cmd.ProcessState != nil {
			return fmt.Errorf("%s exited: see var/log/%s.log", p.name, p.name)
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.url+"/readyz", nil)
		if err != nil {
			return fmt.Errorf("%s readiness probe: %w", p.name, err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
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
