package authn_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/acme/bff-gateway/internal/apperr"
	"github.com/acme/bff-gateway/internal/auth"
	"github.com/acme/bff-gateway/internal/bff/authn"
	"github.com/acme/bff-gateway/internal/bff/session"
	"github.com/acme/bff-gateway/internal/fakeclock"
)

const cookieName = "bff_session"

// tokenVerifier accepts the tokens it knows.
type tokenVerifier map[string]auth.Principal

func (v tokenVerifier) Verify(_ context.Context, raw string) (auth.Principal, error) {
	if p, ok := v[raw]; ok {
		return p, nil
	}
	return auth.Principal{}, apperr.New(apperr.Unauthenticated, "invalid token")
}

// failingStore is a session store that cannot be reached.
type failingStore struct{}

var errStoreDown = errors.New("store down")

func (failingStore) Create(context.Context, session.Session) (string, error) { return "", errStoreDown }
func (failingStore) Get(context.Context, string) (session.Session, bool, error) {
	return session.Session{}, false, errStoreDown
}
func (failingStore) Delete(context.Context, string) error { return errStoreDown }
func (failingStore) Update(context.Context, string, session.Session) (bool, error) {
	return false, errStoreDown
}
func (failingStore) DeleteUser(context.Context, string) (int, error) { return 0, errStoreDown }

type sessionsFixture struct {
	s     *authn.Sessions
	store *session.MemoryStore
	clock *fakeclock.Clock
	alice auth.Principal
}

func newSessions(t *testing.T, secure string) *sessionsFixture {
	t.Helper()
	clock := fakeclock.New(time.Date(2026, 2, 3, 4, 5, 6, 0, time.UTC))
	store := session.NewMemoryStore(10, clock.Now)
	alice := auth.Principal{Subject: "usr_alice", Role: auth.RoleCustomer, Token: "alice-token"}
	return &sessionsFixture{
		s: &authn.Sessions{
			Store:    store,
			Verifier: tokenVerifier{alice.Token: alice},
			Cookie:   cookieName,
			Secure:   secure,
			Now:      clock.Now,
		},
		store: store,
		clock: clock,
		alice: alice,
	}
}

// serve runs one request with cookie (none when "") through the
// middleware, calling inner with its context, and returns the session
// cookies the answer sets.
func (f *sessionsFixture) serve(t *testing.T, target, cookie string, inner func(ctx context.Context)) []*http.Cookie {
	t.Helper()
	rec := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodPost, target, nil)
	if cookie != "" {
		r.AddCookie(&http.Cookie{Name: cookieName, Value: cookie})
	}
	f.s.Middleware(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		inner(r.Context())
	})).ServeHTTP(rec, r)
	res := rec.Result()
	defer res.Body.Close()
	return sessionCookies(t, res)
}

// sessionCookies returns the session cookies an answer sets.
func sessionCookies(t *testing.T, res *http.Response) []*http.Cookie {
	t.Helper()
	var out []*http.Cookie
	for _, c := range res.Cookies() {
		if c.Name == cookieName {
			out = append(out, c)
		}
	}
	return out
}

func checkCookieAttributes(t *testing.T, c *http.Cookie, secure bool) {
	t.Helper()
	if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" || c.Secure != secure {
		t.Errorf("cookie %+v: want HttpOnly, SameSite=Strict, Path=/, Secure=%v", c, secure)
	}
}

func TestSessionLifecycle(t *testing.T) {
	t.Parallel()
	f := newSessions(t, "always")
	expires := f.clock.Now().Add(15 * time.Minute)

	// Sign in: a session is stored and its id, never the token, is set.
	cookies := f.serve(t, "/graphql", "", func(ctx context.Context) {
		if _, ok := auth.PrincipalFromContext(ctx); ok {
			t.Error("a request without a cookie is signed in")
		}
		if err := authn.StartSession(ctx, authn.SignedIn{Principal: f.alice, ExpiresAt: expires}); err != nil {
			t.Fatalf("StartSession: %v", err)
		}
	})
	if len(cookies) != 1 {
		t.Fatalf("sign-in set %d session cookies, want 1", len(cookies))
	}
	id := cookies[0].Value
	checkCookieAttributes(t, cookies[0], true)
	if cookies[0].MaxAge != 15*60 {
		t.Errorf("MaxAge %d, want %d (the session's lifetime on the Sessions clock)", cookies[0].MaxAge, 15*60)
	}
	if id == "" || id == f.alice.Token {
		t.Fatalf("the cookie holds %q, want an opaque session id", id)
	}
	stored, ok, err := f.store.Get(t.Context(), id)
	if err != nil || !ok {
		t.Fatalf("the session %q is not stored: %v", id, err)
	}
	want := session.Session{Token: f.alice.Token, UserID: f.alice.Subject, Role: string(f.alice.Role), TokenExpiresAt: expires, ExpiresAt: expires}
	if stored != want {
		t.Errorf("stored %+v, want %+v", stored, want)
	}

	// The cookie signs the next request in.
	cookies = f.serve(t, "/graphql", id, func(ctx context.Context) {
		if p, ok := auth.PrincipalFromContext(ctx); !ok || p != f.alice {
			t.Errorf("principal %+v (%v), want %+v", p, ok, f.alice)
		}
	})
	if len(cookies) != 0 {
		t.Errorf("a valid session's request set cookies %+v", cookies)
	}

	// Sign out: the session is deleted and the cookie cleared.
	cookies = f.serve(t, "/graphql", id, func(ctx context.Context) {
		if err := authn.EndSession(ctx); err != nil {
			t.Fatalf("EndSession: %v", err)
		}
	})
	if len(cookies) != 1 || cookies[0].Value != "" || cookies[0].MaxAge >= 0 {
		t.Fatalf("sign-out set %+v, want one cleared cookie", cookies)
	}
	checkCookieAttributes(t, cookies[0], true)
	if _, ok, _ := f.store.Get(t.Context(), id); ok {
		t.Error("the session survived sign-out")
	}

	// The old cookie no longer signs in, and is cleared.
	cookies = f.serve(t, "/graphql", id, func(ctx context.Context) {
		if _, ok := auth.PrincipalFromContext(ctx); ok {
			t.Error("a deleted session signed a request in")
		}
	})
	if len(cookies) != 1 || cookies[0].MaxAge >= 0 {
		t.Errorf("a deleted session's cookie was answered with %+v, want it cleared", cookies)
	}
}

func TestStartSessionEndsThePreviousOne(t *testing.T) {
	t.Parallel()
	f := newSessions(t, "never")
	old, err := f.store.Create(t.Context(), session.Session{Token: f.alice.Token, UserID: f.alice.Subject, ExpiresAt: f.clock.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	cookies := f.serve(t, "/graphql", old, func(ctx context.Context) {
		if err := authn.StartSession(ctx, authn.SignedIn{Principal: f.alice, ExpiresAt: f.clock.Now().Add(time.Hour)}); err != nil {
			t.Fatalf("StartSession: %v", err)
		}
	})
	if len(cookies) != 1 || cookies[0].Value == old {
		t.Fatalf("cookies %+v, want one new session", cookies)
	}
	if _, ok, _ := f.store.Get(t.Context(), old); ok {
		t.Error("the previous session survived a new sign-in")
	}
	if _, ok, _ := f.store.Get(t.Context(), cookies[0].Value); !ok {
		t.Error("the new session is not stored")
	}
	if f.store.Len() != 1 {
		t.Errorf("the store holds %d sessions, want 1", f.store.Len())
	}
}

func TestSessionCookieSecure(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		secure, target string
		want           bool
	}{
		{"always", "http://bff.example/graphql", true},
		{"never", "https://bff.example/graphql", false},
		{"auto", "https://bff.example/graphql", true},
		{"auto", "http://bff.example/graphql", false},
	} {
		t.Run(tt.secure+" "+tt.target, func(t *testing.T) {
			t.Parallel()
			f := newSessions(t, tt.secure)
			cookies := f.serve(t, tt.target, "", func(ctx context.Context) {
				if err := authn.StartSession(ctx, authn.SignedIn{Principal: f.alice, ExpiresAt: f.clock.Now().Add(time.Minute)}); err != nil {
					t.Fatalf("StartSession: %v", err)
				}
			})
			if len(cookies) != 1 {
				t.Fatalf("%d session cookies, want 1", len(cookies))
			}
			checkCookieAttributes(t, cookies[0], tt.want)
		})
	}
}

func TestMiddlewareRefusesBadSessions(t *testing.T) {
	t.Parallel()
	f := newSessions(t, "never")
	expired, err := f.store.Create(t.Context(), session.Session{Token: f.alice.Token, UserID: f.alice.Subject, ExpiresAt: f.clock.Now().Add(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	revoked, err := f.store.Create(t.Context(), session.Session{Token: "revoked-token", UserID: f.alice.Subject, ExpiresAt: f.clock.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Minute)
	for name, cookie := range map[string]string{
		"unknown":            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"expired":            expired,
		"token not accepted": revoked,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c := f.serve(t, "/graphql", cookie, func(ctx context.Context) {
				if p, ok := auth.PrincipalFromContext(ctx); ok {
					t.Errorf("signed in as %+v", p)
				}
			})
			if len(c) != 1 || c[0].Value != "" || c[0].MaxAge >= 0 {
				t.Errorf("cookies %+v, want the session cookie cleared", c)
			}
		})
	}
}

// TestWhenTheStoreFails: with the store down, a request with a session
// cookie goes on without a principal but not as a stranger: what needs the
// user is SERVICE_UNAVAILABLE (not UNAUTHENTICATED), the cookie is kept
// (no silent sign-out), signing in or out answers Unavailable wrapping the
// store's error, and signing out keeps the cookie, since the session was
// not ended.
func TestWhenTheStoreFails(t *testing.T) {
	t.Parallel()
	s := &authn.Sessions{Store: failingStore{}, Verifier: tokenVerifier{}, Cookie: cookieName, Secure: "never"}
	r := httptest.NewRequest(http.MethodPost, "/graphql", nil)
	r.AddCookie(&http.Cookie{Name: cookieName, Value: "some-id"})
	var requireErr, startErr, endErr error
	w := httptest.NewRecorder()
	s.Middleware(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		if _, ok := auth.PrincipalFromContext(r.Context()); ok {
			t.Error("signed in without a store")
		}
		_, requireErr = auth.RequirePrincipal(r.Context())
		startErr = authn.StartSession(r.Context(), authn.SignedIn{Principal: auth.Principal{Subject: "usr_a", Token: "t"}, ExpiresAt: time.Now().Add(time.Hour)})
		endErr = authn.EndSession(r.Context())
	})).ServeHTTP(w, r)
	if e, ok := apperr.As(requireErr); !ok || e.Code != apperr.Unavailable {
		t.Errorf("RequirePrincipal: %v, want Unavailable", requireErr)
	}
	for what, err := range map[string]error{"StartSession": startErr, "EndSession": endErr} {
		if e, ok := apperr.As(err); !ok || e.Code != apperr.Unavailable || !errors.Is(err, errStoreDown) {
			t.Errorf("%s: %v, want an Unavailable error wrapping the store's", what, err)
		}
	}
	if cookies := w.Result().Cookies(); len(cookies) != 0 {
		t.Errorf("cookies set while the store was down: %v (a sign-out that failed must not clear it)", cookies)
	}

	// Without a cookie, nothing needs the store: anonymous as ever.
	r = httptest.NewRequest(http.MethodPost, "/graphql", nil)
	s.Middleware(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		_, requireErr = auth.RequirePrincipal(r.Context())
		endErr = authn.EndSession(r.Context())
	})).ServeHTTP(httptest.NewRecorder(), r)
	if e, ok := apperr.As(requireErr); !ok || e.Code != apperr.Unauthenticated {
		t.Errorf("RequirePrincipal without a cookie: %v, want Unauthenticated", requireErr)
	}
	if endErr != nil {
		t.Errorf("EndSession without a session: %v, want nil (nothing to delete)", endErr)
	}
}

func TestSessionFunctionsNeedTheMiddleware(t *testing.T) {
	t.Parallel()
	if err := authn.StartSession(t.Context(), authn.SignedIn{Principal: auth.Principal{Subject: "usr_a", Token: "t"}, ExpiresAt: time.Now().Add(time.Hour)}); err == nil {
		t.Error("StartSession without the middleware succeeded")
	}
	if err := authn.EndSession(t.Context()); err == nil {
		t.Error("EndSession without the middleware succeeded")
	}
}
