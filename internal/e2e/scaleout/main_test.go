// Package scaleout_test proves, with real processes, that the BFFs scale
// out: redis-server, the three services, three bff-web and two bff-mobile
// replicas sharing their state in Redis, and HAProxy in front of each BFF
// (round robin, health checks on /readyz). Through the balancer it checks
// that sessions, rate limits and APQ documents are shared, measures the
// Redis round trips an operation costs, restarts every replica under load
// without a failed request, and kills one.
//
// It needs redis-server and haproxy (apt-get install redis-server
// haproxy): without them it skips, saying so, unless CI is set.
package scaleout_test

import (
	"os"
	"testing"

	"github.com/acme/bff-gateway/internal/e2e/cluster"
)

func TestMain(m *testing.M) { os.Exit(cluster.Main(m)) }
