package cluster

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/acme/bff-gateway/internal/e2e/cluster/clusterconf"
)

// A process whose port was taken between FreePort and its start is
// started again on another port.
func TestAStartFindingItsPortTakenTriesAnother(t *testing.T) {
	path := Require(t, "redis-server")
	var lc net.ListenConfig
	taken, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	var first *Process
	attempts := 0
	p := startOnFreePorts(t, func() *Process {
		attempts++
		port := FreePort(t)
		if attempts == 1 {
			port = taken.Addr().(*net.TCPAddr).Port
		}
		p := newProcess(t, "redis", path)
		p.Args = clusterconf.RedisArgs(port, p.Dir)
		p.Addr = hostPort(port)
		p.ready = func(ctx context.Context) error { return clusterconf.RedisPing(ctx, p.Addr) }
		if first == nil {
			first = p
		}
		return p
	})
	if attempts != 2 || p.Addr == taken.Addr().String() {
		t.Errorf("%d attempts, listening at %s (the taken port: %s)", attempts, p.Addr, taken.Addr())
	}
	err = first.Wait(0)
	if err == nil || first.Running() {
		t.Fatalf("the first attempt: running %v, exit %v", first.Running(), err)
	}
	if !strings.Contains(strings.ToLower(first.Log()), "address already in use") {
		t.Errorf("the first attempt's log does not say the address was in use:\n%s", first.Log())
	}
	// What Start said of the first attempt.
	r := first.current()
	if err := first.exitedWhileStarting(r); !errors.Is(err, ErrAddrInUse) {
		t.Errorf("the first attempt's error %v does not wrap ErrAddrInUse", err)
	}
}
