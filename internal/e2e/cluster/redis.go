package cluster

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/acme/bff-gateway/internal/e2e/cluster/clusterconf"
)

// Redis is a redis-server of the test: on 127.0.0.1 only, without a
// password, saving nothing. Stop, Start and Kill are its Process's: it
// comes back on the same port, empty.
type Redis struct {
	*Process
}

// StartRedis starts redis-server on a free port (redis-server --port P
// --bind 127.0.0.1 --save "" --appendonly no --dir <temp> --protected-mode
// no, no configuration file) and waits until it answers PING. Without
// redis-server the test skips, or fails under CI (Require).
func StartRedis(t testing.TB) *Redis {
	t.Helper()
	path := Require(t, "redis-server")
	p := startOnFreePorts(t, func() *Process {
		port := FreePort(t)
		p := newProcess(t, "redis", path)
		p.Args = clusterconf.RedisArgs(port, p.Dir)
		p.Addr = hostPort(port)
		p.StopTimeout = 10 * time.Second
		p.ready = func(ctx context.Context) error { return clusterconf.RedisPing(ctx, p.Addr) }
		return p
	})
	return &Redis{Process: p}
}

// URL is the Redis URL of the server: "redis://127.0.0.1:P/0", the value
// of a BFF's REDIS_URL.
func (r *Redis) URL() string { return "redis://" + r.Addr + "/0" }

// Env is "REDIS_URL=" + URL().
func (r *Redis) Env() string { return "REDIS_URL=" + r.URL() }

// Do sends one command to the server on a connection of its own and
// returns the answer: a string for a simple or bulk string, nil for a
// null, an int64 for an integer, []any for an array; an error answer is
// the error. For instance r.Do(ctx, "DBSIZE"), r.Do(ctx, "KEYS", "*").
// Without a deadline in ctx it gives up after 5 s.
func (r *Redis) Do(ctx context.Context, args ...string) (any, error) {
	return do(ctx, r.Addr, args...)
}

// ErrRedis is wrapped by the errors Redis answers.
var ErrRedis = errors.New("redis")

func do(ctx context.Context, addr string, args ...string) (any, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	deadline, _ := ctx.Deadline()
	_ = conn.SetDeadline(deadline)
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := io.WriteString(conn, b.String()); err != nil {
		return nil, err
	}
	return readReply(bufio.NewReader(conn))
}

// readReply reads one RESP2 reply.
func readReply(r *bufio.Reader) (any, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return nil, err
	}
	line = strings.TrimSuffix(line, "\r\n")
	if line == "" {
		return nil, errors.New("redis: empty reply line")
	}
	body := line[1:]
	switch line[0] {
	case '+':
		return body, nil
	case '-':
		return nil, fmt.Errorf("%w: %s", ErrRedis, body)
	case ':':
		return strconv.ParseInt(body, 10, 64)
	case '$':
		n, err := strconv.Atoi(body)
		if err != nil || n < 0 {
			return nil, err // a null bulk string is nil, nil
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, err
		}
		return string(buf[:n]), nil
	case '*':
		n, err := strconv.Atoi(body)
		if err != nil || n < 0 {
			return nil, err
		}
		items := make([]any, n)
		for i := range items {
			if items[i], err = readReply(r); err != nil && !errors.Is(err, ErrRedis) {
				return nil, err
			}
		}
		return items, nil
	}
	return nil, fmt.Errorf("redis: unexpected reply %q", line)
}
