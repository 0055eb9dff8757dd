package app_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/acme/bff-gateway/internal/bff/bfftest"
	"github.com/acme/bff-gateway/internal/seed"
)

// sessionCookie returns the named cookie of an answer's Set-Cookie.
func sessionCookie(t testing.TB, env *bfftest.Env, r bfftest.Response) (*http.Cookie, bool) {
	t.Helper()
	var found *http.Cookie
	for _, c := range r.Cookies {
		if c.Name == env.Config.Auth.SessionCookie {
			if found != nil {
				t.Errorf("the session cookie is set twice: %v and %v", found, c)
			}
			found = c
		}
	}
	return found, found != nil
}

func TestLogin(t *testing.T) {
	t.Parallel()
	env := startWeb(t)
	adaToken := env.Stack.Token(t, adaEmail, adaPassword)
	adminToken := env.Stack.Token(t, adminEmail, adminPassword)
	ada := restUser(t, env, adminToken, seed.UserID(1))

	t.Run("right password", func(t *testing.T) {
		t.Parallel()
		c := env.NewClient()
		r := c.Op(t, "Login", map[string]any{"email": adaEmail, "password": adaPassword})
		wantOK(t, r)
		got := bfftest.Decode[struct {
			Login *struct{ Viewer gqlUser } `json:"login"`
		}](t, r)
		if got.Login == nil {
			t.Fatalf("login is null: %s", r.Raw)
		}
		v := got.Login.Viewer
		if v.ID != ada.ID || v.ID != seed.UserID(1) || v.Name != ada.Name || v.Email != ada.Email || v.Role != "CUSTOMER" {
			t.Errorf("viewer %+v, want %s %q %s CUSTOMER", v, ada.ID, ada.Name, ada.Email)
		}

		ck, ok := sessionCookie(t, env, r)
		if !ok {
			t.Fatalf("no %s cookie set; Set-Cookie %q", env.Config.Auth.SessionCookie, r.Header.Values("Set-Cookie"))
		}
		if ck.Value == "" {
			t.Error("the session cookie is empty")
		}
		if !ck.HttpOnly {
			t.Error("the session cookie is not HttpOnly")
		}
		if ck.SameSite != http.SameSiteStrictMode {
			t.Errorf("the session cookie's SameSite is %v, want Strict", ck.SameSite)
		}
		if ck.Path != "/" {
			t.Errorf("the session cookie's Path is %q, want /", ck.Path)
		}
		if ck.Secure {
			t.Error("the session cookie is Secure over plain HTTP")
		}
		if ck.MaxAge <= 0 {
			t.Errorf("the session cookie's Max-Age is %d, want the session's lifetime", ck.MaxAge)
		}
		raw := strings.Join(r.Header.Values("Set-Cookie"), "\n")
		if !strings.Contains(raw, "HttpOnly") || !strings.Contains(raw, "SameSite=Strict") {
			t.Errorf("Set-Cookie %q lacks HttpOnly or SameSite=Strict", raw)
		}

		// No token in the body nor in the cookie: the session is kept server-side.
		if strings.Contains(string(r.Raw), "eyJ") {
			t.Errorf("the answer carries a JWT: %s", r.Raw)
		}
		for _, part := range strings.Split(adaToken, ".") {
			if strings.Contains(string(r.Raw), part) {
				t.Errorf("the answer carries part of the user service's token: %s", r.Raw)
			}
		}
		if strings.Contains(ck.Value, "eyJ") || strings.Count(ck.Value, ".") == 2 || ck.Value == adaToken {
			t.Errorf("the session cookie carries a token: %q", ck.Value)
		}
		if strings.Contains(strings.ToLower(string(r.Raw)), "token") {
			t.Errorf("the answer mentions a token: %s", r.Raw)
		}

		// The cookie is the session from then on.
		d := c.Op(t, "Dashboard", nil)
		wantOK(t, d)
		if v := bfftest.Decode[struct{ Viewer *gqlUser }](t, d).Viewer; v == nil || v.ID != ada.ID {
			t.Errorf("the session's viewer is %+v, want Ada", v)
		}
	})

	t.Run("admin", func(t *testing.T) {
		t.Parallel()
		c := env.NewClient()
		r := c.Op(t, "Login", map[string]any{"email": adminEmail, "password": adminPassword})
		wantOK(t, r)
		v := bfftest.Decode[struct {
			Login struct{ Viewer gqlUser } `json:"login"`
		}](t, r).Login.Viewer
		if v.ID != seed.UserID(0) || v.Role != "ADMIN" || v.Email != adminEmail {
			t.Errorf("viewer %+v, want the admin", v)
		}
	})

	for _, tc := range []struct{ name, email, password string }{
		{"wrong password", adaEmail, "not-ada"},
		{"unknown email", "nobody@example.com", "ada123"},
		{"another user's password", adaEmail, gracePassword},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := env.NewClient()
			r := c.Op(t, "Login", map[string]any{"email": tc.email, "password": tc.password})
			if r.Status != http.StatusOK {
				t.Errorf("status %d, want 200", r.Status)
			}
			got := bfftest.Decode[struct {
				Login *struct{ Viewer gqlUser } `json:"login"`
			}](t, r)
			if got.Login != nil {
				t.Errorf("login = %+v, want null", got.Login)
			}
			wantError(t, r, "login", "UNAUTHENTICATED")
			wantOnlyErrors(t, r, "UNAUTHENTICATED")
			if sc := r.Header.Values("Set-Cookie"); len(sc) > 0 {
				t.Errorf("Set-Cookie %q on a failed login", sc)
			}
			// The message does not tell which of email and password was wrong.
			if e, ok := r.ErrorAt("login"); ok && strings.Contains(strings.ToLower(e.Message), "unknown") {
				t.Errorf("message %q tells the email is unknown", e.Message)
			}
			d := c.Op(t, "Dashboard", nil)
			wantError(t, d, "viewer", "UNAUTHENTICATED")
		})
	}

	// Credentials the user service refuses as malformed are wrong
	// credentials too: UNAUTHENTICATED, and no session.
	for _, tc := range []struct{ name, email, password string }{
		{"empty password", adaEmail, ""},
		{"empty email", "", adaPassword},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := env.NewClient()
			r := c.Op(t, "Login", map[string]any{"email": tc.email, "password": tc.password})
			if r.Status != http.StatusOK {
				t.Errorf("status %d, want 200", r.Status)
			}
			if got := bfftest.Decode[struct {
				Login *struct{ Viewer gqlUser } `json:"login"`
			}](t, r); got.Login != nil {
				t.Errorf("login = %+v, want null", got.Login)
			}
			if _, ok := r.ErrorAt("login"); !ok {
				t.Errorf("no error at login: %s", r.Raw)
			}
			wantOnlyErrors(t, r, "UNAUTHENTICATED")
			if sc := r.Header.Values("Set-Cookie"); len(sc) > 0 {
				t.Errorf("Set-Cookie %q on a failed login", sc)
			}
		})
	}
}

func TestLogout(t *testing.T) {
	t.Parallel()
	env := startWeb(t)
	name := env.Config.Auth.SessionCookie

	c := env.NewClient()
	r := c.Op(t, "Login", map[string]any{"email": adaEmail, "password": adaPassword})
	wantOK(t, r)
	old, ok := sessionCookie(t, env, r)
	if !ok {
		t.Fatal("no session cookie on login")
	}

	// Replaying the cookie by hand works while the session lives.
	replay := env.NewClient()
	replay.Header.Set("Cookie", name+"="+old.Value)
	before := replay.Op(t, "Dashboard", nil)
	wantOK(t, before)
	if v := bfftest.Decode[struct{ Viewer *gqlUser }](t, before).Viewer; v == nil || v.ID != seed.UserID(1) {
		t.Fatalf("the replayed cookie's viewer is %+v, want Ada", v)
	}

	out := c.Op(t, "Logout", nil)
	wantOK(t, out)
	if got := bfftest.Decode[struct{ Logout bool }](t, out); !got.Logout {
		t.Errorf("logout = false: %s", out.Raw)
	}
	cleared, ok := sessionCookie(t, env, out)
	if !ok {
		t.Fatalf("logout does not clear the cookie; Set-Cookie %q", out.Header.Values("Set-Cookie"))
	}
	if cleared.MaxAge >= 0 && (cleared.Expires.IsZero() || cleared.Expires.After(time.Now())) {
		t.Errorf("the cleared cookie %v is neither Max-Age<0 nor expired", cleared)
	}
	if cleared.Value != "" {
		t.Errorf("the cleared cookie still has the value %q", cleared.Value)
	}
	if !cleared.HttpOnly || cleared.Path != "/" {
		t.Errorf("the cleared cookie %v is not HttpOnly with Path /, so it may not replace the session cookie", cleared)
	}

	// The browser dropped the cookie: anonymous again.
	after := c.Op(t, "Dashboard", nil)
	wantError(t, after, "viewer", "UNAUTHENTICATED")

	// The old cookie is not accepted any more, whoever replays it.
	stale := env.NewClient()
	stale.Header.Set("Cookie", name+"="+old.Value)
	d := stale.Op(t, "Dashboard", nil)
	if d.Status != http.StatusOK {
		t.Errorf("status %d, want 200", d.Status)
	}
	if v := bfftest.Decode[struct{ Viewer *gqlUser }](t, d).Viewer; v != nil {
		t.Errorf("the old cookie still signs in as %+v", v)
	}
	wantError(t, d, "viewer", "UNAUTHENTICATED")
	if ck, ok := sessionCookie(t, env, d); ok && ck.MaxAge >= 0 {
		t.Errorf("an unknown session's cookie is answered with %v, want it cleared", ck)
	}
	// Nor for what needs a session.
	o := stale.Op(t, "OrderDetail", map[string]any{"id": seed.OrderID(0)})
	wantError(t, o, "order", "UNAUTHENTICATED")

	// Logging out again without a session still answers true.
	again := env.NewClient().Op(t, "Logout", nil)
	wantOK(t, again)
	if got := bfftest.Decode[struct{ Logout bool }](t, again); !got.Logout {
		t.Errorf("logout without a session = false")
	}

	// A new login gives a new session, not the old one.
	c2 := env.NewClient()
	r2 := c2.Op(t, "Login", map[string]any{"email": adaEmail, "password": adaPassword})
	wantOK(t, r2)
	if ck, ok := sessionCookie(t, env, r2); !ok || ck.Value == old.Value {
		t.Errorf("the new session's cookie %v reuses the old value", ck)
	}
}

// TestLoginAgainEndsThePreviousSession: signing in on a browser that has a
// session replaces it; the old cookie stops working.
func TestLoginAgainEndsThePreviousSession(t *testing.T) {
	t.Parallel()
	env := startWeb(t)
	name := env.Config.Auth.SessionCookie
	c := env.NewClient()
	first, ok := sessionCookie(t, env, c.Op(t, "Login", map[string]any{"email": adaEmail, "password": adaPassword}))
	if !ok {
		t.Fatal("no session cookie on the first login")
	}
	second, ok := sessionCookie(t, env, c.Op(t, "Login", map[string]any{"email": graceEmail, "password": gracePassword}))
	if !ok || second.Value == first.Value {
		t.Fatalf("the second login must set a new session cookie, got %v", second)
	}
	if v := bfftest.Decode[struct{ Viewer *gqlUser }](t, c.Op(t, "Dashboard", nil)).Viewer; v == nil || v.ID != seed.UserID(2) {
		t.Errorf("after the second login the viewer is %+v, want Grace", v)
	}
	old := env.NewClient()
	old.Header.Set("Cookie", name+"="+first.Value)
	wantError(t, old.Op(t, "Dashboard", nil), "viewer", "UNAUTHENTICATED")
}
