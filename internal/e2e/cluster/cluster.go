// Package cluster runs the stack as real processes for end-to-end tests
// of scaled-out BFFs: the five binaries built once per test process
// (Build), the three services (StartServices), BFF replicas (StartBFF),
// a redis-server (StartRedis) and HAProxy in front of the replicas
// (StartHAProxy), each a Process that a test can stop, kill and start
// again on the same ports.
//
// Everything listens on 127.0.0.1, on ports chosen free at run time
// (never a default port: tests run many processes at once); a starter
// whose process finds its port taken meanwhile starts it again on other
// ports. Every process is stopped by its own pid when the test that
// started it ends, failed or not, and its log (a file under the test's
// temporary directory) is written to the test's log when the test failed.
// Every wait is bounded.
//
// redis-server and haproxy come from Debian (apt-get install redis-server
// haproxy): without them the tests that need them skip, or fail when the
// environment variable CI is set (Require). A test package using Build
// should run its tests through Main, which removes the binaries at the
// end.
package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/acme/bff-gateway/internal/e2e/cluster/clusterconf"
)

// Require returns the path of program, found on PATH or in /usr/sbin,
// /usr/local/sbin or /sbin. When it is missing the test is skipped, with
// the Debian package that brings it, or fails when the environment
// variable CI is not empty (CI must run every test).
func Require(t testing.TB, program string) string {
	t.Helper()
	p, err := clusterconf.LookPath(program)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%v (CI is set, so the test may not be skipped)", err)
			return ""
		}
		t.Skip(err.Error())
	}
	return p
}

// handedOut are the ports FreePort has returned in this test process, so
// that it never returns one twice (the kernel may offer a port again as
// soon as it is closed).
var handedOut = struct {
	sync.Mutex
	ports map[int]bool
}{ports: map[int]bool{}}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago and
// that FreePort has not returned before in this process. Another process
// may take it before it is used: the starters of this package start
// again on other ports when that happens.
func FreePort(t testing.TB) int {
	t.Helper()
	p, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// FreeAddr returns "127.0.0.1:P" for a port P from FreePort.
func FreeAddr(t testing.TB) string {
	t.Helper()
	return hostPort(FreePort(t))
}

func hostPort(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }

func freePort() (int, error) {
	var lc net.ListenConfig
	for range 100 {
		l, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
		if err != nil {
			return 0, fmt.Errorf("find a free port: %w", err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		_ = l.Close()
		handedOut.Lock()
		seen := handedOut.ports[port]
		handedOut.ports[port] = true
		handedOut.Unlock()
		if !seen {
			return port, nil
		}
	}
	return 0, errors.New("find a free port: the kernel keeps offering ports already handed out")
}

// Binaries are the paths of the five binaries Build made.
type Binaries struct {
	BFFWeb, BFFMobile, User, Order, Product string
}

// BFF returns the path of the BFF of kind ("web" or "mobile").
func (b Binaries) BFF(kind string) string {
	if kind == "mobile" {
		return b.BFFMobile
	}
	return b.BFFWeb
}

var built struct {
	once sync.Once
	dir  string
	bins Binaries
	err  error
}

// buildTimeout bounds Build: the first build of a fresh checkout compiles
// everything.
const buildTimeout = 10 * time.Minute

// Build builds the five binaries (go build, from the repository root,
// found by walking up from the working directory to go.mod) into a
// temporary directory that outlives the test, once per test process, and
// returns their paths. The Go build cache makes it a matter of linking
// (seconds) unless the code changed. Main removes the directory.
func Build(t testing.TB) Binaries {
	t.Helper()
	built.once.Do(func() {
		start := time.Now()
		built.bins, built.err = build()
		if built.err == nil {
			t.Logf("cluster: built the binaries in %s (%s)", time.Since(start).Round(time.Millisecond), built.dir)
		}
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.bins
}

// BuildFrom builds the five binaries of another checkout of this
// repository, the one at root (the tree a benchmark compares with), into
// a temporary directory removed when t ends.
func BuildFrom(t testing.TB, root string) Binaries {
	t.Helper()
	dir, err := os.MkdirTemp("", "bff-gateway-cluster-bin-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	start := time.Now()
	bins, err := buildIn(root, dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("cluster: built the binaries of %s in %s (%s)", root, time.Since(start).Round(time.Millisecond), dir)
	return bins
}

func build() (Binaries, error) {
	root, err := repoRoot()
	if err != nil {
		return Binaries{}, err
	}
	dir, err := os.MkdirTemp("", "bff-gateway-cluster-bin-")
	if err != nil {
		return Binaries{}, fmt.Errorf("build: %w", err)
	}
	built.dir = dir
	return buildIn(root, dir)
}

// buildIn builds the five binaries of the checkout at root into dir.
func buildIn(root, dir string) (Binaries, error) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		return Binaries{}, fmt.Errorf("build: the go command is not on PATH (go test puts its own there): %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	// One go build for the five: they are linked in parallel. With -o a
	// directory, each binary is named after its package's directory.
	cmd := exec.CommandContext(ctx, goTool, "build", "-o", dir+string(filepath.Separator),
		"./bff-web", "./bff-mobile", "./services/user", "./services/order", "./services/product")
	cmd.Dir = root
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return Binaries{}, fmt.Errorf("build the binaries (in %s): %w\n%s", root, err, out.String())
	}
	bin := func(name string) string { return filepath.Join(dir, name) }
	return Binaries{
		BFFWeb: bin("bff-web"), BFFMobile: bin("bff-mobile"),
		User: bin("user"), Order: bin("order"), Product: bin("product"),
	}, nil
}

// repoRoot walks up from the working directory to the directory of go.mod.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("build: no go.mod above the working directory")
		}
		dir = parent
	}
}

// Main runs the tests of m and removes the binaries Build made; a test
// package that uses Build runs its tests through it:
//
//	func TestMain(m *testing.M) { os.Exit(cluster.Main(m)) }
func Main(m *testing.M) int {
	code := m.Run()
	if built.dir != "" {
		_ = os.RemoveAll(built.dir)
	}
	return code
}
