package authn_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/acme/bff-gateway/internal/apperr"
	"github.com/acme/bff-gateway/internal/auth"
	"github.com/acme/bff-gateway/internal/bff/authn"
	"github.com/acme/bff-gateway/internal/bff/ratelimit"
	"github.com/acme/bff-gateway/internal/bff/request"
	"github.com/acme/bff-gateway/internal/contract"
	"github.com/acme/bff-gateway/internal/fakeclock"
)

const (
	signInEmail    = "ada@example.com"
	signInPassword = "correct horse battery staple"
	signInToken    = "header.payload.signature"
	signInSubject  = "usr_0123456789abcdef"
)

var signInNow = time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)

// getCall is one Get the fake user service received, with the principal
// of its context.
type getCall struct {
	id        string
	principal auth.Principal
	signedIn  bool
}

// fakeUsers is a user service that records its calls.
type fakeUsers struct {
	token    contract.TokenResponse
	tokenErr error
	user     contract.User
	getErr   error

	mu     sync.Mutex
	tokens [][2]string // email, password
	gets   []getCall
}

func (f *fakeUsers) Token(_ context.Context, email, password string) (contract.TokenResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tokens = append(f.tokens, [2]string{email, password})
	return f.token, f.tokenErr
}

func (f *fakeUsers) Get(ctx context.Context, id string) (contract.User, error) {
	p, ok := auth.PrincipalFromContext(ctx)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.gets = append(f.gets, getCall{id: id, principal: p, signedIn: ok})
	return f.user, f.getErr
}

func (f *fakeUsers) calls() (tokens [][2]string, gets []getCall) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([][2]string(nil), f.tokens...), append([]getCall(nil), f.gets...)
}

// fakeVerifier answers every token with principal and err, and records
// the tokens it was given.
type fakeVerifier struct {
	principal auth.Principal
	err       error

	mu  sync.Mutex
	raw []string
}

func (f *fakeVerifier) Verify(_ context.Context, raw string) (auth.Principal, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.raw = append(f.raw, raw)
	return f.principal, f.err
}

func (f *fakeVerifier) calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.raw...)
}

var (
	_ authn.TokenIssuer = (*fakeUsers)(nil)
	_ authn.Verifier    = (*fakeVerifier)(nil)
)

func principal() auth.Principal {
	return auth.Principal{Subject: signInSubject, Role: auth.RoleCustomer, Token: signInToken}
}

// goodUsers is a user service that accepts the credentials.
func goodUsers() *fakeUsers {
	return &fakeUsers{
		token: contract.TokenResponse{AccessToken: signInToken, TokenType: "Bearer", ExpiresIn: 900},
		user:  contract.User{ID: signInSubject, Email: signInEmail, Name: "Ada Lovelace", Role: "customer"},
	}
}

func requireCode(t *testing.T, err error, want apperr.Code) *apperr.Error {
	t.Helper()
	e, ok := apperr.As(err)
	if !ok {
		t.Fatalf("error %v is not an *apperr.Error, want code %s", err, want)
	}
	if e.Code != want {
		t.Fatalf("error code %s (%v), want %s", e.Code, err, want)
	}
	return e
}

func TestSignInLoadsTheVerifiedUser(t *testing.T) {
	t.Parallel()
	users := goodUsers()
	v := &fakeVerifier{principal: principal()}
	got, err := authn.SignIn(t.Context(), users, v, nil, signInNow, signInEmail, signInPassword)
	if err != nil {
		t.Fatal(err)
	}

	tokens, gets := users.calls()
	if !reflect.DeepEqual(tokens, [][2]string{{signInEmail, signInPassword}}) {
		t.Errorf("Token calls %q, want one with the credentials", tokens)
	}
	if raw := v.calls(); !reflect.DeepEqual(raw, []string{signInToken}) {
		t.Errorf("verified %q, want [%s]", raw, signInToken)
	}
	if len(gets) != 1 {
		t.Fatalf("Get was called %d times, want 1", len(gets))
	}
	if g := gets[0]; g.id != signInSubject || !g.signedIn || g.principal != principal() {
		t.Errorf("Get(%q) with principal %+v (%v), want Get(%q) with %+v", g.id, g.principal, g.signedIn, signInSubject, principal())
	}

	if got.Principal != principal() {
		t.Errorf("principal %+v, want %+v", got.Principal, principal())
	}
	if want := signInNow.Add(900 * time.Second); !got.ExpiresAt.Equal(want) {
		t.Errorf("expires at %v, want %v", got.ExpiresAt, want)
	}
	if got.User != users.user {
		t.Errorf("user %+v, want %+v", got.User, users.user)
	}
}

func TestSignInLoadsTheUserTheTokenNames(t *testing.T) {
	t.Parallel()
	// The verified principal, not anything the caller typed, names the
	// user to load.
	users := goodUsers()
	other := auth.Principal{Subject: "usr_other", Role: auth.RoleAdmin, Token: signInToken}
	got, err := authn.SignIn(t.Context(), users, &fakeVerifier{principal: other}, nil, signInNow, signInEmail, signInPassword)
	if err != nil {
		t.Fatal(err)
	}
	_, gets := users.calls()
	if len(gets) != 1 || gets[0].id != "usr_other" || gets[0].principal != other {
		t.Errorf("Get calls %+v, want one for usr_other as that principal", gets)
	}
	if got.Principal != other {
		t.Errorf("principal %+v, want %+v", got.Principal, other)
	}
}

func TestSignInRefusesBadCredentialsWithOneMessage(t *testing.T) {
	t.Parallel()
	for name, tokenErr := range map[string]error{
		"wrong password":    apperr.New(apperr.Unauthenticated, "wrong password"),
		"unknown email":     apperr.New(apperr.Unauthenticated, "no such user"),
		"malformed email":   apperr.InvalidParam("email", "email is malformed"),
		"empty password":    apperr.InvalidParam("password", "password is required"),
		"wrapped malformed": fmt.Errorf("users: %w", apperr.New(apperr.Invalid, "bad")),
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			users := goodUsers()
			users.tokenErr = tokenErr
			v := &fakeVerifier{principal: principal()}
			got, err := authn.SignIn(t.Context(), users, v, nil, signInNow, signInEmail, signInPassword)
			e := requireCode(t, err, apperr.Unauthenticated)
			if e.Message != "invalid email or password" || e.Param != "" || len(e.Details) != 0 {
				t.Errorf("error %+v, want only the message %q", e, "invalid email or password")
			}
			if errors.Is(err, tokenErr) {
				t.Errorf("the error %v wraps the user service's %v", err, tokenErr)
			}
			if got != (authn.SignedIn{}) {
				t.Errorf("signed in %+v", got)
			}
			if raw := v.calls(); len(raw) != 0 {
				t.Errorf("verified %q after a refusal", raw)
			}
			if _, gets := users.calls(); len(gets) != 0 {
				t.Errorf("Get was called after a refusal: %+v", gets)
			}
		})
	}
}

func TestSignInPassesOtherFailuresThrough(t *testing.T) {
	t.Parallel()
	unavailable := apperr.New(apperr.Unavailable, "the user service is unavailable")
	tests := []struct {
		name      string
		tokenErr  error
		verifyErr error
		getErr    error
		verifies  int
		gets      int
	}{
		{name: "token unavailable", tokenErr: unavailable},
		{name: "token plain error", tokenErr: context.DeadlineExceeded},
		{name: "token rate limited", tokenErr: apperr.New(apperr.RateLimited, "slow down")},
		{name: "verify fails", verifyErr: apperr.New(apperr.Unauthenticated, "bad signature"), verifies: 1},
		{name: "verify plain error", verifyErr: errors.New("no keys"), verifies: 1},
		{name: "get fails", getErr: apperr.New(apperr.NotFound, "no such user"), verifies: 1, gets: 1},
		{name: "get unavailable", getErr: unavailable, verifies: 1, gets: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			users := goodUsers()
			users.tokenErr, users.getErr = tt.tokenErr, tt.getErr
			v := &fakeVerifier{principal: principal(), err: tt.verifyErr}
			got, err := authn.SignIn(t.Context(), users, v, nil, signInNow, signInEmail, signInPassword)
			// The failing call's error, unchanged.
			want := firstNonNil(tt.tokenErr, tt.verifyErr, tt.getErr)
			if err != want { //nolint:errorlint // SignIn must return the failing call's error itself, unwrapped: errors.Is would let a wrapped one pass
				t.Fatalf("error %v, want exactly %v", err, want)
			}
			if got != (authn.SignedIn{}) {
				t.Errorf("signed in %+v", got)
			}
			if n := len(v.calls()); n != tt.verifies {
				t.Errorf("verified %d times, want %d", n, tt.verifies)
			}
			if _, gets := users.calls(); len(gets) != tt.gets {
				t.Errorf("Get was called %d times, want %d", len(gets), tt.gets)
			}
		})
	}
}

func firstNonNil(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// loginLimiter allows one attempt per address and burst attempts per
// account, on a clock that moves only when told.
func loginLimiter(t *testing.T, perAccount int) (*ratelimit.LoginLimiter, *fakeclock.Clock) {
	t.Helper()
	clock := fakeclock.New(signInNow)
	return ratelimit.NewLoginLimiter(ratelimit.NewMemoryStore(100, clock.Now), ratelimit.LoginConfig{
		PerIP:      ratelimit.Limit{Rate: 1, Burst: 1},
		PerAccount: ratelimit.Limit{Rate: 1, Burst: perAccount},
	}), clock
}

// attempt is a request's context: its client address and a fresh State.
func attempt(t *testing.T, ip string) (context.Context, *request.State) {
	t.Helper()
	state := request.NewState()
	ctx := request.NewContextWithState(t.Context(), state)
	if ip != "" {
		ctx = request.NewContextWithClientIP(ctx, netip.MustParseAddr(ip))
	}
	return ctx, state
}

// checkThrottled fails unless err is a refusal for the rate recorded in
// state.
func checkThrottled(t *testing.T, err error, state *request.State) {
	t.Helper()
	_ = requireCode(t, err, apperr.RateLimited)
	d, ok := state.Throttled()
	if !ok {
		t.Fatal("the request state is not throttled")
	}
	if d.Allowed || d.RetryAfter <= 0 {
		t.Errorf("throttled with %+v, want a refusal with a positive RetryAfter", d)
	}
}

func TestSignInLimitsAttemptsPerAddress(t *testing.T) {
	t.Parallel()
	logins, clock := loginLimiter(t, 100)
	users := goodUsers()
	v := &fakeVerifier{principal: principal()}

	ctx, state := attempt(t, "203.0.113.7")
	if _, err := authn.SignIn(ctx, users, v, logins, signInNow, signInEmail, signInPassword); err != nil {
		t.Fatalf("first attempt: %v", err)
	}
	if d, ok := state.Throttled(); ok {
		t.Errorf("an allowed attempt throttled the request: %+v", d)
	}

	// Another account from the same address is refused all the same.
	ctx, state = attempt(t, "203.0.113.7")
	got, err := authn.SignIn(ctx, users, v, logins, signInNow, "grace@example.com", signInPassword)
	checkThrottled(t, err, state)
	if d, _ := state.Throttled(); d.RetryAfter != time.Second {
		t.Errorf("retry after %v, want 1s (one token at 1/s)", d.RetryAfter)
	}
	if got != (authn.SignedIn{}) {
		t.Errorf("signed in %+v", got)
	}
	if tokens, gets := users.calls(); len(tokens) != 1 || len(gets) != 1 {
		t.Errorf("the user service saw %d Token and %d Get calls, want 1 and 1 (the refused attempt sends nothing)", len(tokens), len(gets))
	}
	if n := len(v.calls()); n != 1 {
		t.Errorf("verified %d times, want 1", n)
	}

	// Another address is not limited by the first one's attempts.
	ctx, state = attempt(t, "198.51.100.1")
	if _, err := authn.SignIn(ctx, users, v, logins, signInNow, signInEmail, signInPassword); err != nil {
		t.Fatalf("another address: %v", err)
	}
	if _, ok := state.Throttled(); ok {
		t.Error("another address's allowed attempt throttled the request")
	}

	// Once the bucket has refilled the address may try again.
	clock.Advance(time.Second)
	ctx, state = attempt(t, "203.0.113.7")
	if _, err := authn.SignIn(ctx, users, v, logins, signInNow, signInEmail, signInPassword); err != nil {
		t.Fatalf("after the refill: %v", err)
	}
	if _, ok := state.Throttled(); ok {
		t.Error("an attempt after the refill throttled the request")
	}
	if tokens, _ := users.calls(); len(tokens) != 3 {
		t.Errorf("the user service saw %d Token calls, want 3", len(tokens))
	}
}

func TestSignInLimitsAttemptsPerAccount(t *testing.T) {
	t.Parallel()
	logins, _ := loginLimiter(t, 1)
	users := goodUsers()
	users.tokenErr = apperr.New(apperr.Unauthenticated, "wrong password")
	v := &fakeVerifier{principal: principal()}

	ctx, state := attempt(t, "203.0.113.7")
	_, err := authn.SignIn(ctx, users, v, logins, signInNow, signInEmail, "guess1")
	_ = requireCode(t, err, apperr.Unauthenticated)
	if _, ok := state.Throttled(); ok {
		t.Error("an allowed (if wrong) attempt throttled the request")
	}

	// The same account from another address, spelled differently.
	ctx, state = attempt(t, "198.51.100.1")
	_, err = authn.SignIn(ctx, users, v, logins, signInNow, "  ADA@example.com ", "guess2")
	checkThrottled(t, err, state)
	if tokens, _ := users.calls(); len(tokens) != 1 {
		t.Errorf("the user service saw %d Token calls, want 1", len(tokens))
	}
}

func TestSignInWithoutStateStillRefuses(t *testing.T) {
	t.Parallel()
	// Outside an operation (no request.State) a refusal is still an error.
	logins, _ := loginLimiter(t, 100)
	users := goodUsers()
	v := &fakeVerifier{principal: principal()}
	ctx := request.NewContextWithClientIP(t.Context(), netip.MustParseAddr("2001:db8::1"))
	if _, err := authn.SignIn(ctx, users, v, logins, signInNow, signInEmail, signInPassword); err != nil {
		t.Fatalf("first attempt: %v", err)
	}
	_, err := authn.SignIn(ctx, users, v, logins, signInNow, signInEmail, signInPassword)
	_ = requireCode(t, err, apperr.RateLimited)
	if tokens, _ := users.calls(); len(tokens) != 1 {
		t.Errorf("the user service saw %d Token calls, want 1", len(tokens))
	}
}

func TestSignInWithoutLimiterIsNotLimited(t *testing.T) {
	t.Parallel()
	users := goodUsers()
	v := &fakeVerifier{principal: principal()}
	const attempts = 10
	for i := range attempts {
		ctx, state := attempt(t, "203.0.113.7")
		if _, err := authn.SignIn(ctx, users, v, nil, signInNow, signInEmail, signInPassword); err != nil {
			t.Fatalf("attempt %d: %v", i+1, err)
		}
		if _, ok := state.Throttled(); ok {
			t.Fatalf("attempt %d throttled the request", i+1)
		}
	}
	if tokens, _ := users.calls(); len(tokens) != attempts {
		t.Errorf("the user service saw %d Token calls, want %d", len(tokens), attempts)
	}
}
