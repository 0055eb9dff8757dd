package clusterconf

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// ProbeClient asks whether processes are ready: no connection is kept.
var ProbeClient = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}

// HTTPReady is the readiness probe of the BFFs and the services: GET
// base/readyz answers 200.
func HTTPReady(base string) func(context.Context) error {
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/readyz", nil)
		if err != nil {
			return err
		}
		resp, err := ProbeClient.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s/readyz: %s", base, resp.Status)
		}
		return nil
	}
}

// RedisPing is the readiness probe of redis-server: PING on addr answers
// PONG (within a second, or ctx's deadline if sooner).
func RedisPing(ctx context.Context, addr string) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	deadline := time.Now().Add(time.Second)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	_ = conn.SetDeadline(deadline)
	if _, err := io.WriteString(conn, "PING\r\n"); err != nil {
		return err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return err
	}
	if strings.TrimSpace(line) != "+PONG" {
		return fmt.Errorf("redis PING: %q", strings.TrimSpace(line))
	}
	return nil
}
