package authn_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/acme/bff-gateway/internal/apperr"
	"github.com/acme/bff-gateway/internal/auth"
	"github.com/acme/bff-gateway/internal/bff/authn"
	"github.com/acme/bff-gateway/internal/bff/session"
	"github.com/acme/bff-gateway/internal/contract"
	"github.com/acme/bff-gateway/internal/fakeclock"
	"github.com/golang-jwt/jwt/v5"
)

// prefixVerifier accepts every token of the form "<user>/<n>" as user's.
type prefixVerifier struct{}

func (prefixVerifier) Verify(_ context.Context, raw string) (auth.Principal, error) {
	user, _, ok := strings.Cut(raw, "/")
	if !ok {
		return auth.Principal{}, apperr.New(apperr.Unauthenticated, "invalid token")
	}
	return auth.Principal{Subject: user, Role: auth.RoleCustomer, Token: raw}, nil
}

// renewer is a user service's refresh: each refresh token works once.
type renewer struct {
	mu      sync.Mutex
	live    map[string]string // refresh token → user
	n       int
	calls   atomic.Int64
	revoked []string
	all     atomic.Int64
	fail    error         // when set, every refresh fails with it
	delay   time.Duration // each refresh takes this long
}

func newRenewer() *renewer { return &renewer{live: map[string]string{}} }

// issue returns a new pair for user.
func (r *renewer) issue(user string) (access, refresh string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.n++
	refresh = fmt.Sprintf("rt-%d", r.n)
	r.live[refresh] = user
	return fmt.Sprintf("%s/%d", user, r.n), refresh
}

func (r *renewer) Refresh(_ context.Context, rt string) (contract.TokenResponse, error) {
	r.calls.Add(1)
	time.Sleep(r.delay)
	if r.fail != nil {
		return contract.TokenResponse{}, r.fail
	}
	r.mu.Lock()
	user, ok := r.live[rt]
	delete(r.live, rt)
	r.mu.Unlock()
	if !ok {
		return contract.TokenResponse{}, apperr.New(apperr.RefreshTokenReused, "reused")
	}
	access, refresh := r.issue(user)
	return contract.TokenResponse{AccessToken: access, ExpiresIn: 60, RefreshToken: refresh, RefreshExpiresIn: 3600}, nil
}

func (r *renewer) Revoke(_ context.Context, rt string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.revoked = append(r.revoked, rt)
	delete(r.live, rt)
	return nil
}

func (r *renewer) RevokeAll(context.Context) (int, error) {
	r.all.Add(1)
	return 1, nil
}

type refreshFixture struct {
	s     *authn.Sessions
	store *session.MemoryStore
	clock *fakeclock.Clock
	tok   *renewer
}

func newRefreshFixture(store session.Store, mem *session.MemoryStore, clock *fakeclock.Clock) *refreshFixture {
	tok := newRenewer()
	return &refreshFixture{
		s:     &authn.Sessions{Store: store, Verifier: prefixVerifier{}, Tokens: tok, Cookie: cookieName, Secure: "never", Now: clock.Now},
		store: mem, clock: clock, tok: tok,
	}
}

func newRefresh(t *testing.T) *refreshFixture {
	t.Helper()
	clock := fakeclock.New(time.Date(2026, 2, 3, 4, 5, 6, 0, time.UTC))
	store := session.NewMemoryStore(10, clock.Now)
	return newRefreshFixture(store, store, clock)
}

// signIn starts a session of user whose access token lasts a minute.
func (f *refreshFixture) signIn(t *testing.T, user string) string {
	t.Helper()
	access, refresh := f.tok.issue(user)
	now := f.clock.Now()
	id, err := f.store.Create(t.Context(), session.Session{
		Token: access, TokenIssuedAt: now, TokenExpiresAt: now.Add(time.Minute), RefreshToken: refresh,
		UserID: user, Role: "customer", ExpiresAt: now.Add(time.Hour),
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// do runs one request of session id and returns the principal it saw (or
// the error RequirePrincipal gave) and the cookies set.
func (f *refreshFixture) do(id string) (auth.Principal, []*http.Cookie, error) {
	var p auth.Principal
	var perr error
	rec := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodPost, "/graphql", nil)
	r.AddCookie(&http.Cookie{Name: cookieName, Value: id})
	f.s.Middleware(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		p, perr = auth.RequirePrincipal(r.Context())
	})).ServeHTTP(rec, r)
	res := rec.Result()
	defer res.Body.Close()
	var cookies []*http.Cookie
	for _, c := range res.Cookies() {
		if c.Name == cookieName {
			cookies = append(cookies, c)
		}
	}
	return p, cookies, perr
}

func TestSessionRenewsItsTokenOnceNearItsEnd(t *testing.T) {
	t.Parallel()
	f := newRefresh(t)
	id := f.signIn(t, "usr_a")

	// Early in the token's life: no renewal.
	f.clock.Advance(30 * time.Second)
	if p, _, err := f.do(id); err != nil || p.Token != "usr_a/1" || f.tok.calls.Load() != 0 {
		t.Fatalf("at 30 s: %+v, %v, %d refreshes; want the first token and none", p, err, f.tok.calls.Load())
	}
	// In the last third of it: 20 requests at once renew it once.
	f.clock.Advance(15 * time.Second)
	f.tok.delay = 20 * time.Millisecond
	var wg sync.WaitGroup
	tokens := make([]string, 20)
	for i := range tokens {
		wg.Go(func() {
			p, _, err := f.do(id)
			if err != nil {
				t.Errorf("request %d: %v", i, err)
			}
			tokens[i] = p.Token
		})
	}
	wg.Wait()
	if n := f.tok.calls.Load(); n != 1 {
		t.Fatalf("%d refreshes for 20 requests at once; want 1", n)
	}
	stored, ok, _ := f.store.Get(t.Context(), id)
	if !ok || stored.Token != "usr_a/2" || stored.RefreshToken != "rt-2" || !stored.ExpiresAt.Equal(f.clock.Now().Add(time.Hour)) {
		t.Fatalf("stored %+v; want the renewed pair, ending an hour from now", stored)
	}
	for i, tok := range tokens {
		if tok != "usr_a/1" && tok != "usr_a/2" {
			t.Errorf("request %d used %q", i, tok)
		}
	}
	// The next request uses the new token without renewing again, and
	// the renewal set the cookie to the session's new end.
	f.tok.delay = 0
	p, _, err := f.do(id)
	if err != nil || p.Token != "usr_a/2" || f.tok.calls.Load() != 1 {
		t.Errorf("after the renewal: %+v, %v, %d refreshes", p, err, f.tok.calls.Load())
	}
	f.clock.Advance(45 * time.Second)
	_, cookies, _ := f.do(id)
	if len(cookies) != 1 || cookies[0].Value != id || cookies[0].MaxAge != 3600 {
		t.Errorf("a renewal's cookies: %+v; want the session's id for another hour", cookies)
	}
}

func TestSessionEndsWhenItsRefreshTokenIsRefused(t *testing.T) {
	t.Parallel()
	for _, refusal := range []apperr.Code{apperr.Unauthenticated, apperr.RefreshTokenReused} {
		t.Run(string(refusal), func(t *testing.T) {
			f := newRefresh(t)
			id := f.signIn(t, "usr_a")
			f.tok.fail = apperr.New(refusal, "refused")
			f.clock.Advance(50 * time.Second)
			_, cookies, err := f.do(id)
			if !apperr.Is(err, apperr.Unauthenticated) {
				t.Errorf("a request of a session whose refresh was refused: %v; want UNAUTHENTICATED", err)
			}
			if len(cookies) != 1 || cookies[0].MaxAge >= 0 {
				t.Errorf("cookies %+v; want the session cookie cleared", cookies)
			}
			if _, ok, _ := f.store.Get(t.Context(), id); ok {
				t.Error("the session outlived the refusal")
			}
		})
	}
}

func TestSessionOutlivesAFailedRenewalWhileItsTokenLasts(t *testing.T) {
	t.Parallel()
	f := newRefresh(t)
	id := f.signIn(t, "usr_a")
	f.tok.fail = apperr.New(apperr.Unavailable, "user service down")
	f.clock.Advance(50 * time.Second)
	if p, cookies, err := f.do(id); err != nil || p.Token != "usr_a/1" || len(cookies) != 0 {
		t.Errorf("renewal failed, token still good: %+v, %v, %+v; want the old token, no cookie change", p, err, cookies)
	}
	// Past the token's end it cannot go on: unavailable, not signed out.
	f.clock.Advance(20 * time.Second)
	_, cookies, err := f.do(id)
	if !apperr.Is(err, apperr.Unavailable) || len(cookies) != 0 {
		t.Errorf("renewal failed, token expired: %v, %+v; want SERVICE_UNAVAILABLE and the cookie kept", err, cookies)
	}
	// The user service is back: the session goes on.
	f.tok.fail = nil
	if p, _, err := f.do(id); err != nil || p.Token != "usr_a/2" {
		t.Errorf("once the user service is back: %+v, %v", p, err)
	}
}

// lockedElsewhere is a shared store whose lock another replica holds: it
// renews the session itself while this one waits.
type lockedElsewhere struct {
	*session.MemoryStore
	other func()
}

func (l lockedElsewhere) TryLock(context.Context, string, time.Duration) (func(), bool, error) {
	go l.other()
	return nil, false, nil
}

func TestAReplicaWaitsForTheOneRenewingTheSession(t *testing.T) {
	t.Parallel()
	clock := fakeclock.New(time.Date(2026, 2, 3, 4, 5, 6, 0, time.UTC))
	mem := session.NewMemoryStore(10, clock.Now)
	store := &lockedElsewhere{MemoryStore: mem}
	f := newRefreshFixture(store, mem, clock)
	id := f.signIn(t, "usr_a")
	store.other = func() {
		time.Sleep(50 * time.Millisecond)
		s, _, _ := mem.Get(context.Background(), id)
		s.Token, s.RefreshToken = "usr_a/99", "rt-99"
		s.TokenIssuedAt, s.TokenExpiresAt = clock.Now(), clock.Now().Add(time.Minute)
		_, _ = mem.Update(context.Background(), id, s)
	}
	clock.Advance(50 * time.Second)
	p, _, err := f.do(id)
	if err != nil || p.Token != "usr_a/99" || f.tok.calls.Load() != 0 {
		t.Errorf("%+v, %v, %d refreshes; want the other replica's token and no refresh of its own", p, err, f.tok.calls.Load())
	}
}

func TestSignOutRevokesAndSignOutEverywhereEndsEverySession(t *testing.T) {
	t.Parallel()
	f := newRefresh(t)
	a1, a2, b := f.signIn(t, "usr_a"), f.signIn(t, "usr_a"), f.signIn(t, "usr_b")

	run := func(id string, end func(context.Context) error) error {
		var out error
		rec := httptest.NewRecorder()
		r := httptest.NewRequest(http.MethodPost, "/graphql", nil)
		r.AddCookie(&http.Cookie{Name: cookieName, Value: id})
		f.s.Middleware(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
			out = end(r.Context())
		})).ServeHTTP(rec, r)
		return out
	}
	if err := run(b, authn.EndSession); err != nil {
		t.Fatal(err)
	}
	if len(f.tok.revoked) != 1 || f.tok.revoked[0] != "rt-3" {
		t.Errorf("sign-out revoked %q; want the session's refresh token rt-3", f.tok.revoked)
	}
	if err := run(a1, authn.EndEverySession); err != nil {
		t.Fatal(err)
	}
	if f.tok.all.Load() != 1 {
		t.Error("sign-out everywhere did not revoke at the user service")
	}
	for _, id := range []string{a1, a2} {
		if _, ok, _ := f.store.Get(t.Context(), id); ok {
			t.Error("a session of usr_a outlived sign-out everywhere")
		}
	}
	// Without a session there is nobody to sign out.
	if err := run("", authn.EndEverySession); !apperr.Is(err, apperr.Unauthenticated) {
		t.Errorf("sign-out everywhere without a session: %v", err)
	}
}

// unknownKeyVerifier refuses, as a BFF that has not fetched the new key
// yet would, every token until known is set; then accepts them all.
type unknownKeyVerifier struct{ known *atomic.Bool }

func (v unknownKeyVerifier) Verify(_ context.Context, raw string) (auth.Principal, error) {
	if !v.known.Load() {
		return auth.Principal{}, apperr.Wrap(apperr.Unauthenticated, "invalid or expired token", fmt.Errorf("keyfunc: %w", auth.ErrUnknownKey))
	}
	var c auth.Claims
	if _, _, err := jwt.NewParser().ParseUnverified(raw, &c); err != nil {
		return auth.Principal{}, err
	}
	return auth.Principal{Subject: c.Subject, Role: auth.Role(c.Role), Token: raw}, nil
}

// jwtRenewer issues JWT-shaped tokens for one user (signed with a key the
// verifier above does not check).
type jwtRenewer struct {
	renewer
	user string
}

func (r *jwtRenewer) Refresh(ctx context.Context, rt string) (contract.TokenResponse, error) {
	tok, err := r.renewer.Refresh(ctx, rt)
	if err != nil {
		return tok, err
	}
	signed, err := jwt.NewWithClaims(jwt.SigningMethodHS256, auth.Claims{
		RegisteredClaims: jwt.RegisteredClaims{Subject: r.user}, Role: "customer",
	}).SignedString([]byte("test"))
	if err != nil {
		return tok, err
	}
	tok.AccessToken = signed
	return tok, nil
}

// TestARenewalKeepsTokensSignedByAKeyNotFetchedYet: the user service
// started signing with a key this BFF has not fetched. The renewed pair
// is kept all the same (its refresh token is the only one of the family
// left: dropping it would sign the user out at the next renewal), the
// request answers SERVICE_UNAVAILABLE rather than signing out, and once
// the key is known the session goes on.
func TestARenewalKeepsTokensSignedByAKeyNotFetchedYet(t *testing.T) {
	t.Parallel()
	const user = "usr_sc9ncephy7wfwt07"
	f := newRefresh(t)
	known := &atomic.Bool{}
	known.Store(true)
	tok := &jwtRenewer{renewer: renewer{live: map[string]string{}}, user: user}
	f.s.Tokens, f.s.Verifier = tok, unknownKeyVerifier{known: known}
	_, refresh := tok.issue(user)
	now := f.clock.Now()
	first, _ := tok.Refresh(t.Context(), refresh) // a JWT for the session's first token
	id, err := f.store.Create(t.Context(), session.Session{
		Token: first.AccessToken, TokenIssuedAt: now, TokenExpiresAt: now.Add(time.Minute), RefreshToken: first.RefreshToken,
		UserID: user, Role: "customer", ExpiresAt: now.Add(time.Hour),
	})
	if err != nil {
		t.Fatal(err)
	}
	known.Store(false)
	f.clock.Advance(50 * time.Second)
	_, cookies, err := f.do(id)
	if !apperr.Is(err, apperr.Unavailable) || len(cookies) != 0 {
		t.Errorf("a renewal whose token's key is unknown here: %v, cookies %+v; want SERVICE_UNAVAILABLE, the cookie kept", err, cookies)
	}
	stored, ok, _ := f.store.Get(t.Context(), id)
	if !ok || stored.RefreshToken == first.RefreshToken {
		t.Fatalf("stored %+v, %v; want the renewed pair kept", stored, ok)
	}
	known.Store(true)
	if p, _, err := f.do(id); err != nil || p.Subject != user || p.Token != stored.Token {
		t.Errorf("once the key is known: %+v, %v; want the renewed token", p, err)
	}
}
