package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/acme/bff-gateway/bff-web/app"
	"github.com/acme/bff-gateway/internal/bff/bfftest"
	"github.com/acme/bff-gateway/internal/bff/config"
	"github.com/acme/bff-gateway/internal/bff/session"
	"github.com/acme/bff-gateway/internal/contract"
	"github.com/acme/bff-gateway/internal/e2e/cluster"
	"github.com/acme/bff-gateway/internal/testutil"
	"github.com/acme/bff-gateway/services/servicetest"
)

// startWebWithLifetimes starts the web BFF on services whose access
// tokens last tokenTTL and refresh tokens idle and absolute; with a
// Redis URL, sharing its state there (under prefix), on svcs when given.
func startWebWithLifetimes(t *testing.T, env map[string]string, redisURL, prefix string, svcs *servicetest.Stack) *bfftest.Env {
	t.Helper()
	return bfftest.Start(t, bfftest.Options{
		Kind: config.Web, Build: app.NewWithDeps, OperationsDir: "../operations",
		Stack:    servicetest.StackOptions{Seed: testSeed, Env: env},
		Services: svcs,
		RedisURL: redisURL, RedisPrefix: prefix,
	})
}

// viewer asks for the viewer's id with c's session, without failing the
// test (it runs on many goroutines): "" and the first error's code when
// there is one.
func viewer(ctx context.Context, env *bfftest.Env, c *bfftest.Client) (string, string, error) {
	return ask(ctx, env, c, `{ viewer { id } }`)
}

// viewerOrders is viewer through the order service too (which verifies
// the token against its own copy of the user service's keys).
func viewerOrders(ctx context.Context, env *bfftest.Env, c *bfftest.Client) (string, string, error) {
	return ask(ctx, env, c, `{ viewer { id orders(first: 1) { totalCount } } }`)
}

// ask posts query with c's session and returns the viewer's id, or the
// first error's code.
func ask(ctx context.Context, env *bfftest.Env, c *bfftest.Client, query string) (string, string, error) {
	body, err := json.Marshal(map[string]string{"query": query})
	if err != nil {
		return "", "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, env.URL+"/graphql", bytes.NewReader(body))
	if err != nil {
		return "", "", err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return "", "", err
	}
	defer resp.Body.Close()
	var out struct {
		Data struct {
			Viewer *struct{ ID string } `json:"viewer"`
		} `json:"data"`
		Errors []bfftest.Error `json:"errors"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return "", "", fmt.Errorf("%s: %w", resp.Status, err)
	}
	if len(out.Errors) > 0 {
		return "", out.Errors[0].Code() + " at " + out.Errors[0].PathString() + ": " + out.Errors[0].Message, nil
	}
	if out.Data.Viewer == nil {
		return "", "", fmt.Errorf("%s: no viewer and no error", resp.Status)
	}
	return out.Data.Viewer.ID, "", nil
}

// refreshes counts the refreshes envs made at the user service.
func refreshes(envs ...*bfftest.Env) int {
	n := 0
	for _, e := range envs {
		for _, r := range e.Counter.Requests() {
			if r == "POST user /v1/auth/refresh" {
				n++
			}
		}
	}
	return n
}

// keepBusy sends bursts of concurrent viewer requests, one burst every
// gap, for d, from the clients given in turn, and returns the failures
// (no viewer: an error code, or none) and how many requests were sent.
func keepBusy(t *testing.T, d, gap time.Duration, burst int, targets ...struct {
	env *bfftest.Env
	c   *bfftest.Client
}) (failures []string, sent int64) {
	t.Helper()
	var mu sync.Mutex
	var n atomic.Int64
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		var wg sync.WaitGroup
		for i := range burst {
			target := targets[i%len(targets)]
			wg.Go(func() {
				n.Add(1)
				id, code, err := viewer(t.Context(), target.env, target.c)
				if err != nil || code != "" || id == "" {
					mu.Lock()
					failures = append(failures, fmt.Sprintf("%s %v", code, err))
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		time.Sleep(gap)
	}
	return failures, n.Load()
}

// tokenLifetimes are the user service's settings of the tests below: a
// 3-second access token, so that a 15-second session renews it about six
// times.
var tokenLifetimes = map[string]string{"TOKEN_TTL": "3s"}

// checkRenewals holds the refreshes of a session busy for busy to the
// count a 3-second access token renewed in its last second calls for:
// one per token, never two.
func checkRenewals(t *testing.T, got int, busy time.Duration) {
	t.Helper()
	// Renewed when a third of its 3 s is left: each token serves 2 s
	// and a little more (the burst that finds it due).
	most := int(busy/(2*time.Second)) + 1
	least := int(busy/(3*time.Second)) - 1
	t.Logf("%d refreshes in %s of use with 3-second access tokens", got, busy)
	if got < least || got > most {
		t.Errorf("%d refreshes in %s; want one per access token, %d to %d", got, busy, least, most)
	}
}

// TestAnActiveSessionOutlivesItsAccessToken keeps a web session busy for
// 15 s with 3-second access tokens, 20 requests at a time: it never sees
// UNAUTHENTICATED, and each access token is renewed once (a refresh token
// presented twice would revoke the family and sign the user out).
func TestAnActiveSessionOutlivesItsAccessToken(t *testing.T) {
	t.Parallel()
	env := startWebWithLifetimes(t, tokenLifetimes, "", "", nil)
	c := login(t, env, adaEmail, adaPassword)
	env.Counter.Reset()
	const busy = 15 * time.Second
	failures, sent := keepBusy(t, busy, 200*time.Millisecond, 20, struct {
		env *bfftest.Env
		c   *bfftest.Client
	}{env, c})
	if len(failures) > 0 {
		t.Fatalf("%d of %d requests failed; first: %v", len(failures), sent, failures[0])
	}
	checkRenewals(t, refreshes(env), busy)
}

// TestReplicasRenewASessionOnce does the same through two replicas
// sharing the session in Redis: 10 requests on each at a time.
func TestReplicasRenewASessionOnce(t *testing.T) {
	t.Parallel()
	rds := cluster.StartRedis(t)
	a := startWebWithLifetimes(t, tokenLifetimes, rds.URL(), "bff-web-renew", nil)
	b := startWebWithLifetimes(t, nil, rds.URL(), "bff-web-renew", a.Stack)
	onA := login(t, a, adaEmail, adaPassword)
	onB := b.NewClient()
	onB.HTTP.Jar = onA.HTTP.Jar
	a.Counter.Reset()
	b.Counter.Reset()
	const busy = 9 * time.Second
	type target = struct {
		env *bfftest.Env
		c   *bfftest.Client
	}
	failures, sent := keepBusy(t, busy, 200*time.Millisecond, 20, target{a, onA}, target{b, onB})
	if len(failures) > 0 {
		t.Fatalf("%d of %d requests failed; first: %v", len(failures), sent, failures[0])
	}
	if refreshes(a) == 0 || refreshes(b) == 0 {
		t.Logf("refreshes: %d by A, %d by B", refreshes(a), refreshes(b))
	}
	checkRenewals(t, refreshes(a, b), busy)
}

// TestAnIdleSessionEnds leaves a session unused longer than the refresh
// token's idle lifetime: it is over.
func TestAnIdleSessionEnds(t *testing.T) {
	t.Parallel()
	env := startWebWithLifetimes(t, map[string]string{"TOKEN_TTL": "1s", "REFRESH_IDLE_TTL": "2s"}, "", "", nil)
	c := login(t, env, adaEmail, adaPassword)
	// Used within its idle lifetime, it goes on, renewed.
	for range 3 {
		time.Sleep(1200 * time.Millisecond)
		wantOK(t, c.Op(t, "Dashboard", nil))
	}
	time.Sleep(2500 * time.Millisecond)
	r := c.Op(t, "Dashboard", nil)
	wantError(t, r, "viewer", "UNAUTHENTICATED")
}

// TestTheAbsoluteLifetimeIsRespected keeps a session busy past the
// refresh family's absolute lifetime: it ends then, however active.
func TestTheAbsoluteLifetimeIsRespected(t *testing.T) {
	t.Parallel()
	env := startWebWithLifetimes(t, map[string]string{"TOKEN_TTL": "1s", "REFRESH_ABSOLUTE_TTL": "4s"}, "", "", nil)
	c := login(t, env, adaEmail, adaPassword)
	start := time.Now()
	for {
		id, code, err := viewer(t.Context(), env, c)
		elapsed := time.Since(start)
		switch {
		case err != nil:
			t.Fatal(err)
		case id != "" && elapsed > 4*time.Second+time.Second:
			t.Fatalf("the session still works %s after sign-in; the absolute lifetime is 4 s", elapsed)
		case strings.HasPrefix(code, "UNAUTHENTICATED") && elapsed < 3*time.Second:
			t.Fatalf("the session ended after %s, before its absolute lifetime of 4 s", elapsed)
		case strings.HasPrefix(code, "UNAUTHENTICATED"):
			return
		case code != "":
			t.Fatalf("after %s: %s", elapsed, code)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// sessionRefreshToken returns the refresh token of c's session, read
// from env's store.
func sessionRefreshToken(t *testing.T, env *bfftest.Env, c *bfftest.Client) string {
	t.Helper()
	return storedSession(t, env, c).RefreshToken
}

// sessionToken returns the access token of c's session.
func sessionToken(t *testing.T, env *bfftest.Env, c *bfftest.Client) string {
	t.Helper()
	return storedSession(t, env, c).Token
}

// storedSession reads c's session (its cookie) from env's store.
func storedSession(t *testing.T, env *bfftest.Env, c *bfftest.Client) session.Session {
	t.Helper()
	u, err := url.Parse(env.URL)
	if err != nil {
		t.Fatal(err)
	}
	for _, ck := range c.HTTP.Jar.Cookies(u) {
		if ck.Name == env.Config.Auth.SessionCookie {
			s, ok, err := env.Deps.Sessions.Get(t.Context(), ck.Value)
			if err != nil || !ok || s.RefreshToken == "" {
				t.Fatalf("the session of the cookie: %v, %v; want one with a refresh token", ok, err)
			}
			return s
		}
	}
	t.Fatal("no session cookie")
	return session.Session{}
}

// refreshAt presents refreshToken to the user service itself and
// returns the answer's status and problem code.
func refreshAt(t *testing.T, st *servicetest.Stack, refreshToken string) (int, string) {
	t.Helper()
	status, body := testutil.Do(t, http.DefaultClient, http.MethodPost, st.User.URL+"/v1/auth/refresh", "",
		contract.RefreshRequest{RefreshToken: refreshToken}, nil)
	var p struct {
		Code string `json:"code"`
	}
	_ = json.NewDecoder(bytes.NewReader(body)).Decode(&p)
	return status, p.Code
}

// TestLogoutRevokesTheRefreshToken: signing out ends the family at the
// user service, not only the session.
func TestLogoutRevokesTheRefreshToken(t *testing.T) {
	t.Parallel()
	env := startWeb(t)
	c := login(t, env, adaEmail, adaPassword)
	rt := sessionRefreshToken(t, env, c)
	wantOK(t, c.Op(t, "Logout", nil))
	if status, code := refreshAt(t, env.Stack, rt); status != http.StatusUnauthorized || code != "unauthenticated" {
		t.Errorf("the session's refresh token after Logout: %d %s; want 401 unauthenticated (revoked)", status, code)
	}
	wantError(t, c.Op(t, "Dashboard", nil), "viewer", "UNAUTHENTICATED")
}

// TestLogoutEverywhere signs Ada out of two browsers and the app at once.
func TestLogoutEverywhere(t *testing.T) {
	t.Parallel()
	env := startWeb(t)
	here := login(t, env, adaEmail, adaPassword)
	there := login(t, env, adaEmail, adaPassword)
	grace := login(t, env, graceEmail, gracePassword)
	// The app's sign-in, straight at the user service.
	status, body := testutil.Do(t, http.DefaultClient, http.MethodPost, env.Stack.User.URL+"/v1/auth/token", "",
		contract.TokenRequest{Email: adaEmail, Password: adaPassword}, nil)
	if status != http.StatusOK {
		t.Fatalf("sign in: %d %s", status, body)
	}
	app := testutil.MustJSON[contract.TokenResponse](t, body)

	r := here.Query(t, "mutation { logoutEverywhere }", nil)
	wantOK(t, r)
	for _, c := range []*bfftest.Client{here, there} {
		wantError(t, c.Op(t, "Dashboard", nil), "viewer", "UNAUTHENTICATED")
	}
	if status, _ := refreshAt(t, env.Stack, app.RefreshToken); status != http.StatusUnauthorized {
		t.Errorf("the app's refresh token after logoutEverywhere: %d; want 401", status)
	}
	// Another user is untouched.
	wantOK(t, grace.Op(t, "Dashboard", nil))
	// Without a session: UNAUTHENTICATED.
	wantError(t, here.Query(t, "mutation { logoutEverywhere }", nil), "logoutEverywhere", "UNAUTHENTICATED")
}
