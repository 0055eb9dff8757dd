package app_test

import (
	"testing"
	"time"

	"github.com/acme/bff-gateway/bff-mobile/app"
	"github.com/acme/bff-gateway/internal/bff/bfftest"
	"github.com/acme/bff-gateway/internal/bff/config"
	"github.com/acme/bff-gateway/services/servicetest"
)

// pair is what the app keeps of a sign-in or a refresh.
type pair struct {
	Token            string    `json:"token"`
	ExpiresAt        time.Time `json:"expiresAt"`
	RefreshToken     string    `json:"refreshToken"`
	RefreshExpiresAt time.Time `json:"refreshExpiresAt"`
	User             struct {
		ID string `json:"id"`
	} `json:"user"`
}

const pairFields = "token expiresAt refreshToken refreshExpiresAt user { id }"

// appSignIn signs in as the app does, asking for the refresh token too.
func appSignIn(t *testing.T, env *bfftest.Env, email, password string) pair {
	t.Helper()
	r := appClient(env).Query(t, `mutation($e: String!, $p: String!) { login(email: $e, password: $p) { `+pairFields+` } }`,
		map[string]any{"e": email, "p": password})
	d := bfftest.Decode[struct{ Login *pair }](t, r)
	if len(r.Errors) > 0 || d.Login == nil || d.Login.RefreshToken == "" {
		t.Fatalf("login %s: %s", email, r.Raw)
	}
	return *d.Login
}

// refresh presents rt to refreshSession: the new pair, or the error code.
func refresh(t *testing.T, env *bfftest.Env, rt string) (pair, string) {
	t.Helper()
	r := appClient(env).Query(t, `mutation($rt: String!) { refreshSession(refreshToken: $rt) { `+pairFields+` } }`,
		map[string]any{"rt": rt})
	if len(r.Errors) > 0 {
		return pair{}, r.Errors[0].Code()
	}
	d := bfftest.Decode[struct{ RefreshSession *pair }](t, r)
	if d.RefreshSession == nil {
		t.Fatalf("refreshSession: %s", r.Raw)
	}
	return *d.RefreshSession, ""
}

// home asks for the home screen with token: "" when it answered, else
// the error code.
func home(t *testing.T, env *bfftest.Env, token string) string {
	t.Helper()
	c := appClient(env)
	c.Header.Set("Authorization", "Bearer "+token)
	r := c.Op(t, "Home", nil)
	if len(r.Errors) > 0 {
		return r.Errors[0].Code()
	}
	return ""
}

func startMobileWithTokens(t *testing.T, env map[string]string) *bfftest.Env {
	t.Helper()
	return bfftest.Start(t, bfftest.Options{Kind: config.Mobile, Build: app.NewWithDeps, OperationsDir: "../operations",
		Stack: servicetest.StackOptions{Env: env}})
}

// TestTheAppRenewsItsToken: the app's refresh flow through bff-mobile,
// with 2-second access tokens: the token it gets expires, the one
// refreshSession gives works, and each refresh token works once.
func TestTheAppRenewsItsToken(t *testing.T) {
	t.Parallel()
	env := startMobileWithTokens(t, map[string]string{"TOKEN_TTL": "2s"})
	first := appSignIn(t, env, adaEmail, adaPassword)
	if !first.RefreshExpiresAt.After(first.ExpiresAt) || first.User.ID == "" {
		t.Errorf("login: %+v; want a refresh token outliving the access token", first)
	}
	if code := home(t, env, first.Token); code != "" {
		t.Fatalf("Home with the first token: %s", code)
	}
	// Renewed before it expires, as the app does, again and again.
	cur := first
	for i := range 3 {
		time.Sleep(1500 * time.Millisecond)
		next, code := refresh(t, env, cur.RefreshToken)
		if code != "" || next.Token == cur.Token || next.RefreshToken == cur.RefreshToken || next.User.ID != first.User.ID {
			t.Fatalf("refresh %d: %+v %s; want a new pair for the same user", i, next, code)
		}
		if code := home(t, env, next.Token); code != "" {
			t.Fatalf("Home with the token of refresh %d: %s", i, code)
		}
		cur = next
	}
	// The first token has long expired (beyond the verifiers' leeway it
	// would be refused; here it is enough that a fresh one works).
	if !time.Now().After(first.ExpiresAt) {
		t.Errorf("the first token has not expired: the test proves nothing")
	}
}

// TestAStolenRefreshTokenRevokesTheFamily: a thief replays a refresh
// token the app has already used: refused, and the app's own newest one
// is refused too, so the thief's copy is worthless and the user signs in
// again.
func TestAStolenRefreshTokenRevokesTheFamily(t *testing.T) {
	t.Parallel()
	env := startMobileWithTokens(t, nil)
	stolen := appSignIn(t, env, adaEmail, adaPassword)
	legit, code := refresh(t, env, stolen.RefreshToken)
	if code != "" {
		t.Fatalf("the app's refresh: %s", code)
	}
	if _, code := refresh(t, env, stolen.RefreshToken); code != "UNAUTHENTICATED" {
		t.Errorf("the thief's replay: %q; want UNAUTHENTICATED", code)
	}
	if _, code := refresh(t, env, legit.RefreshToken); code != "UNAUTHENTICATED" {
		t.Errorf("the app's newest refresh token after the replay: %q; want UNAUTHENTICATED (family revoked)", code)
	}
	// Another sign-in of the same user is another family: unharmed.
	other := appSignIn(t, env, adaEmail, adaPassword)
	if _, code := refresh(t, env, other.RefreshToken); code != "" {
		t.Errorf("another sign-in's refresh: %s", code)
	}
}

// TestTheAppSignsOut: logout ends this device's family; logoutEverywhere
// every family of the user; a malformed token is refused.
func TestTheAppSignsOut(t *testing.T) {
	t.Parallel()
	env := startMobileWithTokens(t, nil)
	phone := appSignIn(t, env, adaEmail, adaPassword)
	tablet := appSignIn(t, env, adaEmail, adaPassword)
	grace := appSignIn(t, env, graceEmail, gracePassword)

	r := appClient(env).Query(t, `mutation($rt: String!) { logout(refreshToken: $rt) }`, map[string]any{"rt": phone.RefreshToken})
	if len(r.Errors) > 0 || string(r.Data) != `{"logout":true}` {
		t.Fatalf("logout: %s", r.Raw)
	}
	if _, code := refresh(t, env, phone.RefreshToken); code != "UNAUTHENTICATED" {
		t.Errorf("the phone's refresh token after logout: %q", code)
	}
	if _, code := refresh(t, env, tablet.RefreshToken); code != "" {
		t.Fatalf("the tablet's refresh after the phone's logout: %q; want it untouched", code)
	}

	tablet2 := appSignIn(t, env, adaEmail, adaPassword)
	c := appClient(env)
	c.Header.Set("Authorization", "Bearer "+tablet2.Token)
	if r := c.Query(t, `mutation { logoutEverywhere }`, nil); len(r.Errors) > 0 {
		t.Fatalf("logoutEverywhere: %s", r.Raw)
	}
	if _, code := refresh(t, env, tablet2.RefreshToken); code != "UNAUTHENTICATED" {
		t.Errorf("a refresh token of Ada's after logoutEverywhere: %q", code)
	}
	if _, code := refresh(t, env, grace.RefreshToken); code != "" {
		t.Errorf("Grace's refresh after Ada's logoutEverywhere: %q", code)
	}
	// Without a token there is nobody to sign out.
	r = appClient(env).Query(t, `mutation { logoutEverywhere }`, nil)
	if len(r.Errors) != 1 || r.Errors[0].Code() != "UNAUTHENTICATED" {
		t.Errorf("logoutEverywhere without a token: %s", r.Raw)
	}
	if _, code := refresh(t, env, "rt_not-a-token"); code != "UNAUTHENTICATED" {
		t.Errorf("a made-up refresh token: %q", code)
	}
}
