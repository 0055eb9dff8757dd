package scaleout_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	mobileops "github.com/acme/bff-gateway/bff-mobile/operations"
	webops "github.com/acme/bff-gateway/bff-web/operations"
	"github.com/acme/bff-gateway/internal/bff/gqldocs"
	"github.com/acme/bff-gateway/internal/e2e/cluster"
)

// Sizes of the scaled-out stack.
const (
	webReplicas    = 3
	mobileReplicas = 2
)

// The limits the replicas run with (replicasConfig), small enough to be
// reached by a test and exact across replicas because they are counted
// in Redis.
const (
	// loginBudget is rate_limit.login_per_ip_per_minute.
	loginBudget = 3
	// addressBurst is rate_limit.request_burst_per_address; the address
	// limit refills at addressRate a second, so that nothing refills
	// within a test: a budget of addressBurst is exactly that many
	// requests. The load generator spreads its requests over many
	// addresses, as a crowd of users would.
	addressBurst = 20
	addressRate  = 0.01
)

// replicasConfig is the configuration of every replica: HAProxy's
// X-Forwarded-For is believed; the limits above; a large operation cost
// budget, since two accounts carry the load of many users.
var replicasConfig = fmt.Sprintf(`http:
  trusted_proxies: [127.0.0.1/32]
rate_limit:
  login_per_ip_per_minute: %d
  request_burst_per_address: %d
  requests_per_second_per_address: %g
  cost_per_second: 100000
  burst: 100000
`, loginBudget, addressBurst, addressRate)

// mobileKey is the mobile BFF's development API key (ENV=development).
const mobileKey = "dev-mobile-app-key"

// stack is the scaled-out stack of a test.
type stack struct {
	redis  *cluster.Redis
	svcs   *cluster.Services
	web    []*cluster.Process
	mobile []*cluster.Process
	lb     *cluster.HAProxy
}

// startStack starts Redis, the services, the replicas and HAProxy, and
// waits until every replica is UP in HAProxy.
func startStack(t *testing.T) *stack {
	t.Helper()
	cluster.Require(t, "redis-server")
	cluster.Require(t, "haproxy")
	bins := cluster.Build(t)
	start := time.Now()
	s := &stack{redis: cluster.StartRedis(t)}
	// Upstream latency like a real network's, so that requests are in
	// flight when replicas stop or die.
	s.svcs = cluster.StartServices(t, bins, cluster.ServiceOptions{Latency: "1ms-3ms"})
	env := []string{s.redis.Env(), "SESSION_KEYS=" + cluster.NewSessionKey(), cluster.BFFConfig(t, replicasConfig)}
	for range webReplicas {
		s.web = append(s.web, cluster.StartBFF(t, bins, s.svcs, "web", env...))
	}
	for range mobileReplicas {
		s.mobile = append(s.mobile, cluster.StartBFF(t, bins, s.svcs, "mobile", env...))
	}
	s.lb = cluster.StartHAProxy(t, []cluster.Frontend{
		{Name: "web", Servers: addrs(s.web)},
		{Name: "mobile", Servers: addrs(s.mobile)},
	})
	s.lb.WaitServersUp(t, 20*time.Second)
	t.Logf("stack: redis, 3 services, %d web and %d mobile replicas and haproxy up in %s",
		webReplicas, mobileReplicas, time.Since(start).Round(time.Millisecond))
	return s
}

func addrs(ps []*cluster.Process) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Addr
	}
	return out
}

// replicas are every BFF replica, web then mobile.
func (s *stack) replicas() []*cluster.Process {
	return append(append([]*cluster.Process{}, s.web...), s.mobile...)
}

// frontend is the name of the HAProxy frontend of p.
func (s *stack) frontend(p *cluster.Process) string {
	if strings.HasPrefix(p.Name, "bff-mobile") {
		return "mobile"
	}
	return "web"
}

// Documents of the clients' contract, by operation name, each with the
// fragments it uses, as the clients send them.
var (
	webDocs    = composed(webops.Documents())
	mobileDocs = composed(mobileops.Documents())
)

func composed(docs map[string]string) map[string]string {
	out, err := gqldocs.Compose(docs)
	if err != nil {
		panic(err) // embedded documents: a broken build
	}
	return out
}

// request is one GraphQL request.
type request struct {
	// Query is the document; Hash, when set, sends it as an automatic
	// persisted query (Query may then be empty: by hash alone).
	Query, Hash string
	Variables   map[string]any
	// Header are more headers (Cookie, Authorization, X-API-Key,
	// X-Forwarded-For).
	Header http.Header
}

// answer is a GraphQL answer.
type answer struct {
	Status int
	Header http.Header
	Data   json.RawMessage
	Errors []struct {
		Message    string         `json:"message"`
		Path       []any          `json:"path"`
		Extensions map[string]any `json:"extensions"`
	}
	Raw []byte
}

// code is the extensions.code of the first error ("" when none).
func (a answer) code() string {
	if len(a.Errors) == 0 {
		return ""
	}
	c, _ := a.Errors[0].Extensions["code"].(string)
	return c
}

// ok reports a 200 without errors.
func (a answer) ok() bool { return a.Status == http.StatusOK && len(a.Errors) == 0 }

func (a answer) String() string {
	return fmt.Sprintf("%d %s", a.Status, bytes.TrimSpace(a.Raw))
}

// post sends r to base+"/graphql" and decodes the answer; a transport
// error or an answer that is not GraphQL JSON is an error.
func post(ctx context.Context, client *http.Client, base string, r request) (answer, error) {
	body := map[string]any{}
	if r.Query != "" {
		body["query"] = r.Query
	}
	if r.Variables != nil {
		body["variables"] = r.Variables
	}
	if r.Hash != "" {
		body["extensions"] = map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": r.Hash}}
	}
	b, err := json.Marshal(body)
	if err != nil {
		return answer{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/graphql", bytes.NewReader(b))
	if err != nil {
		return answer{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/graphql-response+json, application/json")
	for k, vs := range r.Header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	resp, err := client.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return answer{}, fmt.Errorf("read the answer (%s): %w", resp.Status, err)
	}
	a := answer{Status: resp.StatusCode, Header: resp.Header, Raw: raw}
	if err := json.Unmarshal(raw, &a); err != nil {
		return a, fmt.Errorf("%s: not GraphQL JSON: %w: %.200s", resp.Status, err, raw)
	}
	return a, nil
}

// mustPost is post that fails the test on an error.
func mustPost(t *testing.T, client *http.Client, base string, r request) answer {
	t.Helper()
	a, err := post(t.Context(), client, base, r)
	if err != nil {
		t.Fatalf("POST %s/graphql: %v", base, err)
	}
	return a
}

// headers builds a header from pairs of names and values.
func headers(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}

// webLogin signs email in through base (from the address from) and
// returns the session's Cookie header.
func webLogin(t *testing.T, client *http.Client, base, email, password, from string) string {
	t.Helper()
	a := mustPost(t, client, base, request{
		Query:     webDocs["Login"],
		Variables: map[string]any{"email": email, "password": password},
		Header:    headers("X-Forwarded-For", from),
	})
	if !a.ok() {
		t.Fatalf("web Login of %s: %s", email, a)
	}
	var cookies []string
	for _, c := range (&http.Response{Header: a.Header}).Cookies() {
		cookies = append(cookies, c.Name+"="+c.Value)
	}
	if len(cookies) == 0 {
		t.Fatalf("web Login of %s set no cookie: %v", email, a.Header)
	}
	return strings.Join(cookies, "; ")
}

// mobileLogin signs email in through base and returns the bearer token.
func mobileLogin(t *testing.T, client *http.Client, base, email, password, from string) string {
	t.Helper()
	a := mustPost(t, client, base, request{
		Query:     mobileDocs["Login"],
		Variables: map[string]any{"email": email, "password": password},
		Header:    headers("X-API-Key", mobileKey, "X-Forwarded-For", from),
	})
	var data struct {
		Login struct {
			Token string `json:"token"`
		} `json:"login"`
	}
	if !a.ok() || json.Unmarshal(a.Data, &data) != nil || data.Login.Token == "" {
		t.Fatalf("mobile Login of %s: %s", email, a)
	}
	return data.Login.Token
}

// redisRoundTrips is the number of round trips to Redis p has made: the
// sum of the counts of bff_redis_command_duration_seconds on its admin
// listener.
func redisRoundTrips(t *testing.T, p *cluster.Process) float64 {
	t.Helper()
	var sum float64
	seen := false
	for line := range strings.Lines(scrape(t, p)) {
		if !strings.HasPrefix(line, "bff_redis_command_duration_seconds_count{") {
			continue
		}
		line = strings.TrimSpace(line)
		v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		if err != nil {
			t.Fatalf("%s: %q: %v", p.Name, line, err)
		}
		sum += v
		seen = true
	}
	if !seen {
		t.Fatalf("%s exports no bff_redis_command_duration_seconds: is it on Redis?", p.Name)
	}
	return sum
}
