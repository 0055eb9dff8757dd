package app_test

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/acme/bff-gateway/bff-web/app"
	"github.com/acme/bff-gateway/internal/apperr"
	"github.com/acme/bff-gateway/internal/auth"
	"github.com/acme/bff-gateway/internal/bff/bfftest"
	"github.com/acme/bff-gateway/internal/bff/config"
	"github.com/acme/bff-gateway/internal/seed"
	"github.com/acme/bff-gateway/internal/testutil"
	"github.com/acme/bff-gateway/services/servicetest"
	"github.com/acme/bff-gateway/services/user/usersvc"
)

// jwksFetch is how the counter lists a fetch of the user service's keys.
const jwksFetch = "GET user " + auth.JWKSPath

// jwksFetches counts the BFF's fetches of the JWKS since the last Reset.
func jwksFetches(env *bfftest.Env) int {
	n := 0
	for _, r := range env.Counter.Requests() {
		if r == jwksFetch {
			n++
		}
	}
	return n
}

// rotateKeys rotates the user service's signing key as an admin.
func rotateKeys(t *testing.T, env *bfftest.Env) usersvc.KeyRotation {
	t.Helper()
	admin := env.Stack.Token(t, adminEmail, adminPassword)
	status, body := testutil.Do(t, http.DefaultClient, http.MethodPost, env.Stack.User.URL+usersvc.RotateKeysPath, admin, nil, nil)
	if status != http.StatusOK {
		t.Fatalf("rotate the signing key: status %d: %s", status, body)
	}
	return testutil.MustJSON[usersvc.KeyRotation](t, body)
}

// wantDashboard fails unless c's session reads Ada's dashboard in full.
func wantDashboard(t *testing.T, env *bfftest.Env, c *bfftest.Client, who string) {
	t.Helper()
	r := c.Op(t, "Dashboard", nil)
	if r.Status != http.StatusOK || len(r.Errors) > 0 {
		t.Errorf("%s: Dashboard: status %d, errors %+v", who, r.Status, r.Errors)
		return
	}
	if v := bfftest.Decode[struct{ Viewer *gqlUser }](t, r).Viewer; v == nil || v.ID != seed.UserID(1) || v.Orders == nil {
		t.Errorf("%s: Dashboard viewer %+v, want Ada with her orders", who, v)
	}
}

func TestBFFPicksUpKeyRotationWithoutRestart(t *testing.T) {
	t.Parallel()
	const gap = 50 * time.Millisecond
	env := bfftest.Start(t, bfftest.Options{
		Kind:          config.Web,
		Build:         app.NewWithDeps,
		OperationsDir: "../operations",
		Stack:         servicetest.StackOptions{Seed: testSeed, Env: map[string]string{"KEY_PREPUBLISH": "0s"}},
		Configure:     func(c *config.Config) { c.Auth.JWKSMinRefreshGap = gap },
	})

	// A session signed with the first key. Before the rotation it reads
	// only what the BFF and the user service check: the order service
	// keeps its own JWKS cache (platform.Common.Verifier) with the
	// default 10 s minimum refresh gap and no setting for it, so a token
	// of a new key that reaches it within 10 s of its last fetch is
	// refused. That window is the services' to close, not the BFF's.
	before := login(t, env, adaEmail, adaPassword)
	r := before.Query(t, `{ viewer { id email } }`, nil)
	wantOK(t, r)
	if v := bfftest.Decode[struct{ Viewer *gqlUser }](t, r).Viewer; v == nil || v.ID != seed.UserID(1) {
		t.Fatalf("session before the rotation: viewer %+v, want Ada", v)
	}
	oldKIDs := env.Deps.JWKS.KeyIDs()
	if len(oldKIDs) != 1 {
		t.Fatalf("the BFF knows keys %v, want the one key", oldKIDs)
	}

	rot := rotateKeys(t, env)
	if rot.ActiveKID == oldKIDs[0] || !slices.Contains(rot.KIDs, oldKIDs[0]) {
		t.Fatalf("rotation %+v: want a new key, the old one %s kept", rot, oldKIDs[0])
	}
	// Past the gap since the BFF's last fetch, an unknown kid refetches.
	time.Sleep(2 * gap)
	env.Counter.Reset()

	// A session signed with the new key, on the same BFF.
	after := login(t, env, adaEmail, adaPassword)
	if n := jwksFetches(env); n != 1 {
		t.Errorf("signing in with the new key fetched the JWKS %d times, want 1: %v", n, env.Counter.Requests())
	}
	if got := env.Deps.JWKS.KeyIDs(); !slices.Equal(got, slices.Sorted(slices.Values(rot.KIDs))) {
		t.Errorf("the BFF knows keys %v, want %v", got, rot.KIDs)
	}

	wantDashboard(t, env, before, "session before the rotation")
	wantDashboard(t, env, after, "session after the rotation")
}

// forge returns a token with plausible claims, signed by key under kid.
func forge(key *rsa.PrivateKey, kid string) (string, error) {
	now := time.Now()
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{
		"iss": auth.DefaultIssuer, "aud": auth.DefaultAudience, "sub": seed.UserID(1), "role": "admin",
		"iat": now.Unix(), "exp": now.Add(time.Minute).Unix(),
	})
	tok.Header["kid"] = kid
	return tok.SignedString(key)
}

func TestRandomKIDFloodCostsFewJWKSFetches(t *testing.T) {
	t.Parallel()
	// The default minimum refresh gap, as in production.
	env := startWeb(t)
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	const flood = 200
	tokens := make([]string, flood)
	for i := range tokens {
		kid := make([]byte, 8)
		_, _ = rand.Read(kid)
		if tokens[i], err = forge(key, hex.EncodeToString(kid)); err != nil {
			t.Fatal(err)
		}
	}

	// The flood hits a cold cache from many goroutines at once, the worst
	// case: the first fetch is shared, the rest wait out the gap.
	env.Counter.Reset()
	var wg sync.WaitGroup
	errs := make(chan error, flood)
	for _, tok := range tokens {
		wg.Go(func() {
			_, err := env.Deps.Verifier.Verify(t.Context(), tok)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if !apperr.Is(err, apperr.Unauthenticated) {
			t.Fatalf("a forged token: %v, want unauthenticated", err)
		}
	}
	// A second wave, sequential.
	for _, tok := range tokens[:50] {
		if _, err := env.Deps.Verifier.Verify(t.Context(), tok); err == nil {
			t.Fatal("a forged token verified")
		}
	}

	// Real sessions are unaffected.
	c := login(t, env, adaEmail, adaPassword)
	wantDashboard(t, env, c, "session after the flood")

	if n := jwksFetches(env); n > 3 {
		t.Errorf("%d forged tokens with random kids caused %d JWKS fetches, want at most 3: %v", flood+50, n, env.Counter.Requests())
	} else {
		t.Logf("%d forged tokens, %d JWKS fetches", flood+50, n)
	}
}

// headerKID returns the kid in a JWT's header.
func headerKID(t *testing.T, token string) string {
	t.Helper()
	var h struct {
		KID string `json:"kid"`
	}
	tok, _, err := jwt.NewParser().ParseUnverified(token, jwt.MapClaims{})
	if err != nil {
		t.Fatal(err)
	}
	h.KID, _ = tok.Header["kid"].(string)
	return h.KID
}

// TestKeyRotationUnderTrafficCausesNoRefusal rotates the signing key while
// a session keeps reading its orders (through the user and the order
// service, the BFF and the order service each verifying the token against
// their own copy of the JWKS) and renewing its 2-second tokens. The new key is published 2 s
// before it signs, and everyone refetches the JWKS every half second: by
// the time a token of the new key exists, every verifier knows the key.
// Without the pre-publication a verifier that fetched within its minimum
// gap refuses the first tokens of the new key.
func TestKeyRotationUnderTrafficCausesNoRefusal(t *testing.T) {
	t.Parallel()
	const refetch = 500 * time.Millisecond
	env := bfftest.Start(t, bfftest.Options{
		Kind: config.Web, Build: app.NewWithDeps, OperationsDir: "../operations",
		Stack: servicetest.StackOptions{Seed: testSeed, Env: map[string]string{
			"TOKEN_TTL": "2s", "KEY_PREPUBLISH": "2s",
			"JWKS_REFRESH": refetch.String(), "JWKS_MIN_REFRESH_GAP": refetch.String(),
		}},
		Configure: func(c *config.Config) { c.Auth.JWKSRefresh, c.Auth.JWKSMinRefreshGap = refetch, refetch },
	})
	c := login(t, env, adaEmail, adaPassword)
	first := headerKID(t, sessionToken(t, env, c))

	var mu sync.Mutex
	var failures []string
	sent := 0
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				case <-time.After(50 * time.Millisecond):
				}
				id, code, err := viewerOrders(t.Context(), env, c)
				r := ""
				if err != nil || code != "" || id == "" {
					r = fmt.Sprintf("%s %v", code, err)
				}
				mu.Lock()
				sent++
				if r != "" {
					failures = append(failures, r)
				}
				mu.Unlock()
			}
		})
	}
	time.Sleep(time.Second)
	rot := rotateKeys(t, env)
	if rot.ActiveKID != first || rot.NextKID == first || !rot.ActivatesAt.After(time.Now()) {
		t.Errorf("rotation %+v: want %s signing on, the new key later", rot, first)
	}
	time.Sleep(time.Until(rot.ActivatesAt) + 4*time.Second)
	close(stop)
	wg.Wait()
	if len(failures) > 0 {
		t.Fatalf("%d of %d requests failed across the rotation; first: %s", len(failures), sent, failures[0])
	}
	// The rotation did happen: the session now holds a token of the new key.
	if kid := headerKID(t, sessionToken(t, env, c)); kid != rot.NextKID {
		t.Errorf("the session's token is signed by %s; want the new key %s", kid, rot.NextKID)
	}
	t.Logf("%d requests across the rotation, none refused", sent)
}
