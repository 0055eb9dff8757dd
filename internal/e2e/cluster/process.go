package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Default bounds of a Process's waits.
const (
	DefaultReadyTimeout = 20 * time.Second
	DefaultStopTimeout  = 20 * time.Second
	// killWait bounds the wait for a process to vanish after SIGKILL.
	killWait = 10 * time.Second
	// logDumpBytes is how much of the end of a process's log a failed
	// test shows.
	logDumpBytes = 16 << 10
)

// ErrAddrInUse is wrapped by the error of a start that failed because a
// port was taken (the process said "address already in use").
var ErrAddrInUse = errors.New("address already in use")

// ErrRunning is returned by Wait when the process is still running.
var ErrRunning = errors.New("still running")

// Process is a program the harness started, and starts again on demand
// with the same arguments, environment and so ports. Its methods may be
// called from any goroutine; its fields are set by the starters and may
// be changed (Env, for instance) before the next Start, not during one.
type Process struct {
	// Name names the process in messages and its log ("bff-web-2").
	Name string
	// Addr is the host:port of its public listener (HAProxy: its stats
	// page; Redis: where it listens).
	Addr string
	// AdminAddr is the host:port of its admin listener (GET /metrics),
	// "" when it has none.
	AdminAddr string
	// Path and Args are the program and its arguments.
	Path string
	Args []string
	// Env is its whole environment: PATH, HOME, TMPDIR and TZ of the test
	// process (nothing else of it: no OTEL_*, no REDIS_URL leaks in),
	// then its own variables; of two values of a variable the last wins.
	Env []string
	// Dir is its working directory, a temporary directory of the test
	// that also holds its log (and a service's data, in Dir/data).
	Dir string
	// LogPath is the file its standard output and error go to, every run
	// appended after a line "=== cluster: …".
	LogPath string
	// ReadyTimeout bounds the wait for it to be ready after a start;
	// StopTimeout bounds Stop's wait after SIGTERM, before SIGKILL.
	ReadyTimeout time.Duration
	StopTimeout  time.Duration

	t     testing.TB
	ready func(ctx context.Context) error

	mu   sync.Mutex
	cur  *run
	runs int
}

// run is one execution of a Process.
type run struct {
	cmd     *exec.Cmd
	done    chan struct{} // closed once it has exited and been reaped
	err     error         // how it exited; set before done is closed
	logFrom int64         // where its output starts in the log
}

func (r *run) exited() bool {
	select {
	case <-r.done:
		return true
	default:
		return false
	}
}

// newProcess makes a process of t that is not started yet, with its own
// temporary directory, and registers its stop (and the dump of its log
// when t fails) for the end of t.
func newProcess(t testing.TB, name, path string, args ...string) *Process {
	t.Helper()
	dir := t.TempDir()
	p := &Process{
		Name: name, Path: path, Args: args, Env: baseEnv(), Dir: dir,
		LogPath:      filepath.Join(dir, name+".log"),
		ReadyTimeout: DefaultReadyTimeout, StopTimeout: DefaultStopTimeout,
		t: t,
	}
	register(t, p)
	return p
}

// baseEnv is what a process inherits of the test's environment.
func baseEnv() []string {
	var env []string
	for _, k := range []string{"PATH", "HOME", "TMPDIR", "TZ"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// URL is "http://" + Addr.
func (p *Process) URL() string { return "http://" + p.Addr }

// AdminURL is "http://" + AdminAddr ("" when it has no admin listener).
func (p *Process) AdminURL() string {
	if p.AdminAddr == "" {
		return ""
	}
	return "http://" + p.AdminAddr
}

func (p *Process) current() *run {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cur
}

// Start starts the process (again: same ports, same environment, the same
// log appended to) and waits until it is ready: for the BFFs and the
// services, until GET /readyz answers 200; for Redis, PING; for HAProxy,
// its stats page and every frontend. It fails when the process is
// already running, exits meanwhile (the error then wraps ErrAddrInUse
// when a port was taken) or is not ready within ReadyTimeout (it is then
// killed); the error holds the end of its log.
func (p *Process) Start() error {
	r, err := p.launch()
	if err != nil {
		return err
	}
	return p.waitReady(r)
}

// Restart stops the process (Stop) and starts it again (Start).
func (p *Process) Restart() error {
	p.Stop()
	return p.Start()
}

func (p *Process) launch() (*run, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cur != nil && !p.cur.exited() {
		return nil, fmt.Errorf("start %s: already running (pid %d)", p.Name, p.cur.cmd.Process.Pid)
	}
	logf, err := os.OpenFile(p.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", p.Name, err)
	}
	defer logf.Close() // the process has its own descriptor
	from, err := logf.Seek(0, io.SeekEnd)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", p.Name, err)
	}
	p.runs++
	// Not CommandContext's cancellation: a process is stopped by Stop or
	// Kill, by its pid, never by a context.
	cmd := exec.CommandContext(context.Background(), p.Path, p.Args...)
	cmd.Env = slices.Clone(p.Env)
	cmd.Dir = p.Dir
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", p.Name, err)
	}
	fmt.Fprintf(logf, "=== cluster: %s started (run %d, pid %d) at %s\n",
		p.Name, p.runs, cmd.Process.Pid, time.Now().Format(time.RFC3339Nano))
	r := &run{cmd: cmd, done: make(chan struct{}), logFrom: from}
	go func() {
		r.err = cmd.Wait()
		close(r.done)
	}()
	p.cur = r
	return r, nil
}

func (p *Process) waitReady(r *run) error {
	deadline := time.Now().Add(p.ReadyTimeout)
	for {
		if r.exited() {
			return p.exitedWhileStarting(r)
		}
		err := p.probe()
		if err == nil {
			if r.exited() { // the probe reached someone else
				return p.exitedWhileStarting(r)
			}
			return nil
		}
		if time.Now().After(deadline) {
			p.killRun(r)
			return fmt.Errorf("%s (pid %d) not ready within %s (%w); killed. Its log:\n%s",
				p.Name, r.cmd.Process.Pid, p.ReadyTimeout, err, p.logSince(r.logFrom))
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// probe asks once, for at most a second, whether the process is ready.
func (p *Process) probe() error {
	if p.ready == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	return p.ready(ctx)
}

func (p *Process) exitedWhileStarting(r *run) error {
	out := p.logSince(r.logFrom)
	exit := r.err
	if exit == nil {
		exit = errors.New("exit status 0")
	}
	err := fmt.Errorf("%s (pid %d) exited while starting (%w). Its log:\n%s", p.Name, r.cmd.Process.Pid, exit, out)
	if strings.Contains(strings.ToLower(out), "address already in use") {
		return fmt.Errorf("%w: %w", ErrAddrInUse, err)
	}
	return err
}

// Stop sends SIGTERM and waits for the process to exit; after StopTimeout
// it kills it (SIGKILL) and says so in the test's log. It does nothing
// when the process is not running.
func (p *Process) Stop() {
	r := p.current()
	if r == nil || r.exited() {
		return
	}
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.done:
		return
	case <-time.After(p.StopTimeout):
	}
	p.t.Logf("cluster: %s (pid %d) still running %s after SIGTERM: killing it", p.Name, r.cmd.Process.Pid, p.StopTimeout)
	p.killRun(r)
}

// Kill kills the process (SIGKILL: no drain, no goodbye) and waits until
// it is gone. It does nothing when the process is not running.
func (p *Process) Kill() {
	if r := p.current(); r != nil {
		p.killRun(r)
	}
}

func (p *Process) killRun(r *run) {
	if r.exited() {
		return
	}
	_ = r.cmd.Process.Kill()
	select {
	case <-r.done:
	case <-time.After(killWait):
		p.t.Errorf("cluster: %s (pid %d) still there %s after SIGKILL", p.Name, r.cmd.Process.Pid, killWait)
	}
}

// Signal sends sig to the process without waiting (SIGTERM to watch a BFF
// drain, SIGSTOP to freeze one); an error when it is not running.
func (p *Process) Signal(sig os.Signal) error {
	r := p.current()
	if r == nil || r.exited() {
		return fmt.Errorf("signal %s: not running", p.Name)
	}
	return r.cmd.Process.Signal(sig)
}

// Wait waits up to timeout for the process to exit and returns how its
// last run ended: nil for status 0, an *exec.ExitError for another status
// or a signal, ErrRunning when it is still running after timeout (0: do
// not wait), an error when it was never started.
func (p *Process) Wait(timeout time.Duration) error {
	r := p.current()
	if r == nil {
		return fmt.Errorf("wait for %s: never started", p.Name)
	}
	if !r.exited() && timeout > 0 {
		select {
		case <-r.done:
		case <-time.After(timeout):
		}
	}
	if !r.exited() {
		return fmt.Errorf("%s (pid %d): %w after %s", p.Name, r.cmd.Process.Pid, ErrRunning, timeout)
	}
	return r.err
}

func (p *Process) started() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.runs > 0
}

// Pid is the pid of the last run (0 before the first start).
func (p *Process) Pid() int {
	if r := p.current(); r != nil {
		return r.cmd.Process.Pid
	}
	return 0
}

// Running reports whether the process is started and has not exited.
func (p *Process) Running() bool {
	r := p.current()
	return r != nil && !r.exited()
}

// Log returns the whole log of the process, every run.
func (p *Process) Log() string {
	b, _ := os.ReadFile(p.LogPath)
	return string(b)
}

func (p *Process) logSince(off int64) string {
	b, _ := os.ReadFile(p.LogPath)
	if off > int64(len(b)) {
		off = 0
	}
	return tail(string(b[off:]), logDumpBytes)
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[len(s)-n:]
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return "…\n" + s
}

// group are the processes a test started: the first of their cleanups to
// run stops all of them at once (so that the BFFs' drains overlap).
type group struct {
	mu    sync.Mutex
	procs []*Process
}

var groups sync.Map // testing.TB → *group

func register(t testing.TB, p *Process) {
	v, _ := groups.LoadOrStore(t, &group{})
	g := v.(*group)
	g.mu.Lock()
	g.procs = append(g.procs, p)
	g.mu.Unlock()
	// Registered after the process's t.TempDir: it runs before the
	// directory is removed.
	t.Cleanup(func() {
		g.stopAll()
		if t.Failed() && p.started() {
			t.Logf("cluster: log of %s (%s):\n%s", p.Name, p.LogPath, p.logSince(0))
		}
		g.mu.Lock()
		g.procs = slices.DeleteFunc(g.procs, func(q *Process) bool { return q == p })
		empty := len(g.procs) == 0
		g.mu.Unlock()
		if empty {
			groups.Delete(t)
		}
	})
}

func (g *group) stopAll() {
	g.mu.Lock()
	procs := slices.Clone(g.procs)
	g.mu.Unlock()
	var wg sync.WaitGroup
	for _, p := range procs {
		wg.Go(p.Stop)
	}
	wg.Wait()
}
