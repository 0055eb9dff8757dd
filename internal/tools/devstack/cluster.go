package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/acme/bff-gateway/internal/addrs"
	"github.com/acme/bff-gateway/internal/e2e/cluster/clusterconf"
)

// The ports of `make run-cluster` (devstack -cluster): the services on
// their usual ports, HAProxy on the BFFs' usual ports (so clients do not
// change), each replica on a port of its own.
const (
	clusterReplicas = 3
	clusterRedis    = "127.0.0.1:6390"
	clusterStats    = "127.0.0.1:8404"
	// Replica i (from 0) of bff-web listens on webReplicaPort+i, its
	// admin listener on webReplicaAdminPort+i; likewise bff-mobile.
	webReplicaPort         = 8090
	webReplicaAdminPort    = 9190
	mobileReplicaPort      = 8095
	mobileReplicaAdminPort = 9195
	// clusterDrainDelay is the replicas' DRAIN_DELAY: HAProxy's checks
	// (clusterconf) take a draining replica out within about 300 ms.
	clusterDrainDelay = "1s"
)

// clusterBFFConfig is the replicas' configuration file: they believe the
// X-Forwarded-For of HAProxy, on loopback.
const clusterBFFConfig = `# Written by make run-cluster (internal/tools/devstack).
http:
  trusted_proxies: [127.0.0.1/32]
`

// clusterPlan is what devstack -cluster runs.
type clusterPlan struct {
	procs []*process
	// haproxyConfig is written to haproxyPath before HAProxy starts;
	// bffConfigPath holds clusterBFFConfig.
	haproxyConfig clusterconf.HAProxyConfig
	haproxyPath   string
	bffConfigPath string
}

// planCluster returns the processes of the cluster: redis-server, the
// three services, clusterReplicas replicas of each BFF sharing their
// state in that Redis, and HAProxy in front of each BFF. dir holds what
// they write (Redis's directory, the configuration files). It fails,
// saying what to install, when redis-server or haproxy is missing.
func planCluster(binDir, dir, serviceToken, sessionKeys string) (*clusterPlan, error) {
	redisServer, err := clusterconf.LookPath("redis-server")
	if err != nil {
		return nil, err
	}
	haproxy, err := clusterconf.LookPath("haproxy")
	if err != nil {
		return nil, err
	}
	plan := &clusterPlan{
		haproxyPath:   filepath.Join(dir, "haproxy.cfg"),
		bffConfigPath: filepath.Join(dir, "bff.yaml"),
	}
	_, redisPort, err := net.SplitHostPort(clusterRedis)
	if err != nil {
		return nil, err
	}
	port, err := strconv.Atoi(redisPort)
	if err != nil {
		return nil, err
	}
	redis := &process{
		name: "redis", binary: redisServer, url: "redis://" + clusterRedis + "/0",
		args:  clusterconf.RedisArgs(port, filepath.Join(dir, "redis")),
		ready: func(ctx context.Context) error { return clusterconf.RedisPing(ctx, clusterRedis) },
	}
	plan.procs = append(plan.procs, redis)
	plan.procs = append(plan.procs, serviceProcesses(binDir, serviceToken)...)

	bffEnv := []string{
		"REDIS_URL=" + redis.url,
		"SESSION_KEYS=" + sessionKeys,
		"DRAIN_DELAY=" + clusterDrainDelay,
		"BFF_CONFIG=" + plan.bffConfigPath,
	}
	var web, mobile clusterconf.Frontend
	web = clusterconf.Frontend{Name: "web", Bind: addrs.BFFWeb}
	mobile = clusterconf.Frontend{Name: "mobile", Bind: addrs.BFFMobile}
	for i := range clusterReplicas {
		w := bffProcess(binDir, "bff-web", i, webReplicaPort, webReplicaAdminPort, serviceToken, bffEnv)
		m := bffProcess(binDir, "bff-mobile", i, mobileReplicaPort, mobileReplicaAdminPort, serviceToken, bffEnv)
		plan.procs = append(plan.procs, w, m)
		web.Servers = append(web.Servers, strings.TrimPrefix(w.url, "http://"))
		mobile.Servers = append(mobile.Servers, strings.TrimPrefix(m.url, "http://"))
	}
	plan.haproxyConfig = clusterconf.HAProxyConfig{Frontends: []clusterconf.Frontend{web, mobile}, StatsBind: clusterStats}
	stats := "http://" + clusterStats + clusterconf.StatsPath
	plan.procs = append(plan.procs, &process{
		name: "haproxy", binary: haproxy, url: stats,
		args: clusterconf.HAProxyArgs(plan.haproxyPath),
		ready: func(ctx context.Context) error {
			// Ready once every replica is UP behind it.
			states, err := clusterconf.FetchServerStates(ctx, http.DefaultClient, stats)
			if err != nil {
				return err
			}
			for _, s := range states {
				if s.Status != "UP" {
					return fmt.Errorf("%s/%s is %s", s.Backend, s.Server, s.Status)
				}
			}
			return nil
		},
	})
	return plan, nil
}

// bffProcess is replica i of the BFF binary name.
func bffProcess(binDir, name string, i, port, adminPort int, serviceToken string, env []string) *process {
	p := mk(binDir, name, "127.0.0.1:"+strconv.Itoa(port+i), "127.0.0.1:"+strconv.Itoa(adminPort+i), serviceToken)
	p.name = fmt.Sprintf("%s-%d", name, i+1)
	p.env = append(p.env, env...)
	return p
}

// write writes the configuration files of the plan.
func (c *clusterPlan) write() error {
	if err := os.MkdirAll(filepath.Join(filepath.Dir(c.haproxyPath), "redis"), 0o750); err != nil {
		return fmt.Errorf("create the cluster's directory: %w", err)
	}
	if err := os.WriteFile(c.bffConfigPath, []byte(clusterBFFConfig), 0o600); err != nil {
		return fmt.Errorf("write the BFF configuration: %w", err)
	}
	if err := c.haproxyConfig.WriteFile(c.haproxyPath); err != nil {
		return fmt.Errorf("write the HAProxy configuration: %w", err)
	}
	return nil
}

func printClusterBanner(out io.Writer, plan *clusterPlan, logDir string) {
	fmt.Fprintln(out, "\nThe cluster is up (Ctrl-C stops it):")
	fmt.Fprintf(out, "  bff-web    http://%s/graphql   (HAProxy, round robin over %d replicas)\n", addrs.BFFWeb, clusterReplicas)
	fmt.Fprintf(out, "  bff-mobile http://%s/graphql   (HAProxy, round robin over %d replicas)\n", addrs.BFFMobile, clusterReplicas)
	fmt.Fprintf(out, "  HAProxy stats  http://%s%s\n", clusterStats, clusterconf.StatsPath)
	fmt.Fprintf(out, "  Redis          redis://%s/0 (sessions, rate limits, APQ, product cache; nothing saved)\n", clusterRedis)
	fmt.Fprintln(out, "\nReplicas (each answers directly too; metrics on its admin listener):")
	for _, p := range plan.procs {
		if strings.HasPrefix(p.name, "bff-") {
			fmt.Fprintf(out, "  %-13s %s/graphql   metrics: %s/metrics\n", p.name, p.url, p.admin)
		}
	}
	fmt.Fprintln(out, "\nSign in through the balancer, then use the session on every replica:")
	fmt.Fprintf(out, "  curl -s -c /tmp/jar http://%s/graphql -H 'Content-Type: application/json' \\\n", addrs.BFFWeb)
	fmt.Fprintln(out, `    -d '{"query":"mutation { login(email: \"ada@example.com\", password: \"ada123\") { viewer { name } } }"}'`)
	fmt.Fprintf(out, "  for p in %d %d %d; do curl -s -b /tmp/jar http://127.0.0.1:$p/graphql -H 'Content-Type: application/json' \\\n",
		webReplicaPort, webReplicaPort+1, webReplicaPort+2)
	fmt.Fprintln(out, `    -d '{"query":"{ viewer { name } }"}'; echo; done`)
	fmt.Fprintf(out, "\nLogs: %s/*.log  Configuration: %s, %s\n", logDir, plan.haproxyPath, plan.bffConfigPath)
}
