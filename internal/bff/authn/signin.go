package authn

import (
	"context"
	"time"

	"github.com/acme/bff-gateway/internal/apperr"
	"github.com/acme/bff-gateway/internal/auth"
	"github.com/acme/bff-gateway/internal/bff/ratelimit"
	"github.com/acme/bff-gateway/internal/bff/request"
	"github.com/acme/bff-gateway/internal/contract"
)

// Verifier checks an access token and returns its principal
// (auth.Verifier does).
type Verifier interface {
	Verify(ctx context.Context, raw string) (auth.Principal, error)
}

// TokenIssuer is what signing in needs of the user service
// (upstream.Users): an access token for credentials, and the user it
// names.
type TokenIssuer interface {
	Token(ctx context.Context, email, password string) (contract.TokenResponse, error)
	Get(ctx context.Context, id string) (contract.User, error)
}

// SignedIn is the outcome of a sign-in.
type SignedIn struct {
	Principal auth.Principal
	ExpiresAt time.Time
	User      contract.User
}

// SignIn exchanges credentials for a token at the user service, verifies
// it and loads the user with it. Wrong or malformed credentials are
// UNAUTHENTICATED, with one message whatever was wrong.
//
// logins, when not nil, limits attempts per address (request.ClientIP)
// and per account before anything is sent: over the limit it returns
// RATE_LIMITED and throttles the request (request.State), so that its
// answer is a 429 with Retry-After.
func SignIn(ctx context.Context, users TokenIssuer, v Verifier, logins *ratelimit.LoginLimiter, now time.Time, email, password string) (SignedIn, error) {
	if logins != nil {
		if d, err := logins.Allow(ctx, request.ClientIP(ctx), email); err != nil {
			request.StateFrom(ctx).Throttle(d)
			return SignedIn{}, err
		}
	}
	tok, err := users.Token(ctx, email, password)
	if err != nil {
		if apperr.Is(err, apperr.Unauthenticated) || apperr.Is(err, apperr.Invalid) {
			return SignedIn{}, apperr.New(apperr.Unauthenticated, "invalid email or password")
		}
		return SignedIn{}, err
	}
	p, err := v.Verify(ctx, tok.AccessToken)
	if err != nil {
		return SignedIn{}, err
	}
	u, err := users.Get(auth.NewContextWithPrincipal(ctx, p), p.Subject)
	if err != nil {
		return SignedIn{}, err
	}
	return SignedIn{
		Principal: p,
		ExpiresAt: now.Add(time.Duration(tok.ExpiresIn) * time.Second),
		User:      u,
	}, nil
}
