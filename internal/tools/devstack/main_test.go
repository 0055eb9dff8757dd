package main

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/acme/bff-gateway/internal/addrs"
	"github.com/acme/bff-gateway/internal/bff/config"
	"github.com/acme/bff-gateway/internal/e2e/cluster"
	"github.com/acme/bff-gateway/internal/e2e/cluster/clusterconf"
)

// envOf returns the value of key in p's environment ("" when unset).
func envOf(p *process, key string) string {
	v := ""
	for _, kv := range p.env {
		if k, val, ok := strings.Cut(kv, "="); ok && k == key {
			v = val
		}
	}
	return v
}

func TestPlainStackStopsPromptly(t *testing.T) {
	procs := stackProcesses("bin", "token")
	var names []string
	for _, p := range procs {
		names = append(names, p.name)
		want := ""
		if strings.HasPrefix(p.name, "bff-") {
			want = "0s" // no balancer to drain from: Ctrl-C is prompt
		}
		if got := envOf(p, "DRAIN_DELAY"); got != want {
			t.Errorf("%s: DRAIN_DELAY=%q, want %q", p.name, got, want)
		}
		if envOf(p, "REDIS_URL") != "" {
			t.Errorf("%s: make run must not need Redis", p.name)
		}
	}
	if want := []string{"user", "product", "order", "bff-web", "bff-mobile"}; !slices.Equal(names, want) {
		t.Errorf("processes %v, want %v", names, want)
	}
}

func TestClusterPlan(t *testing.T) {
	cluster.Require(t, "redis-server")
	haproxy := cluster.Require(t, "haproxy")
	dir := t.TempDir()
	key := clusterconf.NewSessionKey()
	plan, err := planCluster("bin", dir, "token", key)
	if err != nil {
		t.Fatal(err)
	}
	if err := plan.write(); err != nil {
		t.Fatal(err)
	}

	// Every address is used once: the processes', HAProxy's frontends
	// and its stats page.
	seen := map[string]string{}
	use := func(who, url string) {
		if url == "" {
			return
		}
		hostPort := url[strings.Index(url, "//")+2:]
		hostPort, _, _ = strings.Cut(hostPort, "/")
		if other, dup := seen[hostPort]; dup {
			t.Errorf("%s and %s both use %s", who, other, hostPort)
		}
		seen[hostPort] = who
	}
	webReplicas, mobileReplicas := 0, 0
	for _, p := range plan.procs {
		use(p.name, p.url)
		use(p.name+" admin", p.admin)
		switch {
		case strings.HasPrefix(p.name, "bff-web-"):
			webReplicas++
		case strings.HasPrefix(p.name, "bff-mobile-"):
			mobileReplicas++
		default:
			continue
		}
		// Every replica shares its state in the cluster's Redis, with the
		// same session keys, believes HAProxy, and drains.
		for k, want := range map[string]string{
			"REDIS_URL": "redis://" + clusterRedis + "/0", "SESSION_KEYS": key,
			"DRAIN_DELAY": clusterDrainDelay, "BFF_CONFIG": plan.bffConfigPath,
		} {
			if got := envOf(p, k); got != want {
				t.Errorf("%s: %s=%q, want %q", p.name, k, got, want)
			}
		}
	}
	if webReplicas != clusterReplicas || mobileReplicas != clusterReplicas {
		t.Errorf("%d web and %d mobile replicas, want %d of each", webReplicas, mobileReplicas, clusterReplicas)
	}
	binds := map[string][]string{}
	for _, f := range plan.haproxyConfig.Frontends {
		use("haproxy "+f.Name, "http://"+f.Bind)
		binds[f.Bind] = f.Servers
	}
	if len(binds[addrs.BFFWeb]) != clusterReplicas || len(binds[addrs.BFFMobile]) != clusterReplicas {
		t.Errorf("HAProxy frontends %v: want the BFFs' usual addresses %s and %s, each over %d replicas",
			binds, addrs.BFFWeb, addrs.BFFMobile, clusterReplicas)
	}

	// HAProxy accepts its configuration; the BFFs accept theirs, and
	// trust HAProxy's address.
	if err := clusterconf.CheckHAProxyConfig(context.Background(), haproxy, plan.haproxyPath); err != nil {
		t.Error(err)
	}
	for _, kind := range []config.Kind{config.Web, config.Mobile} {
		cfg, err := config.Load(kind, plan.bffConfigPath, func(k string) string {
			return map[string]string{"REDIS_URL": "redis://" + clusterRedis + "/0", "SESSION_KEYS": key}[k]
		})
		if err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		if !slices.Contains(cfg.HTTP.TrustedProxies, "127.0.0.1/32") {
			t.Errorf("%s: trusted proxies %v, want HAProxy's 127.0.0.1/32", kind, cfg.HTTP.TrustedProxies)
		}
	}
}

// TestREADMEShowsTheClusterPorts holds the README's table of
// make run-cluster to the addresses devstack uses.
func TestREADMEShowsTheClusterPorts(t *testing.T) {
	b, err := os.ReadFile("../../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	replicas := func(port, admin int) string {
		var ps, as []string
		for i := range clusterReplicas {
			ps = append(ps, strconv.Itoa(port+i))
			as = append(as, strconv.Itoa(admin+i))
		}
		return fmt.Sprintf("127.0.0.1:%s (admin %s)", strings.Join(ps, ", "), strings.Join(as, ", "))
	}
	for _, row := range []string{
		"| HAProxy, bff-web | " + addrs.BFFWeb + " |",
		"| HAProxy, bff-mobile | " + addrs.BFFMobile + " |",
		"| HAProxy stats | http://" + clusterStats + clusterconf.StatsPath + " |",
		"| Redis | " + clusterRedis + " ",
		"| bff-web replicas | " + replicas(webReplicaPort, webReplicaAdminPort) + " |",
		"| bff-mobile replicas | " + replicas(mobileReplicaPort, mobileReplicaAdminPort) + " |",
	} {
		if !strings.Contains(readme, row) {
			t.Errorf("README.md lacks the row %q of make run-cluster", row)
		}
	}
	if !strings.Contains(readme, "`DRAIN_DELAY=1s`") || clusterDrainDelay != "1s" {
		t.Errorf("README.md's drain timings are measured with DRAIN_DELAY=1s; run-cluster uses %s", clusterDrainDelay)
	}
}
