package authn

import (
	"context"
	"errors"
	"time"

	"github.com/acme/bff-gateway/internal/apperr"
	"github.com/acme/bff-gateway/internal/auth"
	"github.com/acme/bff-gateway/internal/bff/ratelimit"
	"github.com/acme/bff-gateway/internal/bff/request"
	"github.com/acme/bff-gateway/internal/contract"
	"github.com/acme/bff-gateway/internal/ids"
	"github.com/golang-jwt/jwt/v5"
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

// SignedIn is the outcome of a sign-in: the verified access token (in
// Principal), its life, and the refresh token that renews it.
type SignedIn struct {
	Principal           auth.Principal
	IssuedAt, ExpiresAt time.Time
	// RefreshToken is usable until RefreshExpiresAt if unused.
	RefreshToken     string
	RefreshExpiresAt time.Time
	User             contract.User
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
	return completeSignIn(ctx, users, v, tok, now)
}

// completeSignIn makes a sign-in of tokens the user service has just
// issued: it reads their principal and loads the user with them.
func completeSignIn(ctx context.Context, users TokenIssuer, v Verifier, tok contract.TokenResponse, now time.Time) (SignedIn, error) {
	p, err := issuedPrincipal(ctx, v, tok.AccessToken)
	if err != nil {
		return SignedIn{}, err
	}
	u, err := users.Get(auth.NewContextWithPrincipal(ctx, p), p.Subject)
	if err != nil {
		return SignedIn{}, err
	}
	return signedIn(tok, p, u, now), nil
}

func signedIn(tok contract.TokenResponse, p auth.Principal, u contract.User, now time.Time) SignedIn {
	return SignedIn{
		Principal:        p,
		IssuedAt:         now,
		ExpiresAt:        now.Add(time.Duration(tok.ExpiresIn) * time.Second),
		RefreshToken:     tok.RefreshToken,
		RefreshExpiresAt: now.Add(time.Duration(tok.RefreshExpiresIn) * time.Second),
		User:             u,
	}
}

// Renew exchanges a refresh token for a new pair at the user service (the
// app's refreshSession), verifies the new access token and loads its user.
// A refresh token that is unknown, expired, revoked or already used (its
// family is then revoked) is UNAUTHENTICATED, with one message.
func Renew(ctx context.Context, users interface {
	TokenRenewer
	TokenIssuer
}, v Verifier, now time.Time, refreshToken string) (SignedIn, error) {
	tok, err := users.Refresh(ctx, refreshToken)
	if err != nil {
		if apperr.Is(err, apperr.Unauthenticated) || apperr.Is(err, apperr.RefreshTokenReused) || apperr.Is(err, apperr.Invalid) {
			return SignedIn{}, apperr.New(apperr.Unauthenticated, "invalid or expired refresh token; sign in again")
		}
		return SignedIn{}, err
	}
	return completeSignIn(ctx, users, v, tok, now)
}

// issuedPrincipal returns the principal of an access token the user
// service has just issued to this BFF, in the answer to its own call.
// It is verified as any token is; when only its key is unknown here yet (a
// key the user service started signing with before this BFF fetched it),
// its claims are taken as they are: the token came straight from its
// issuer, and refusing it would throw away the refresh token issued with
// it, the only one of its family that still works.
func issuedPrincipal(ctx context.Context, v Verifier, token string) (auth.Principal, error) {
	p, err := v.Verify(ctx, token)
	if err == nil || !errors.Is(err, auth.ErrUnknownKey) {
		return p, err
	}
	var claims auth.Claims
	if _, _, perr := jwt.NewParser().ParseUnverified(token, &claims); perr != nil {
		return auth.Principal{}, err
	}
	role := auth.Role(claims.Role)
	if !ids.ValidUser(claims.Subject) || (role != auth.RoleCustomer && role != auth.RoleAdmin) {
		return auth.Principal{}, err
	}
	return auth.Principal{Subject: claims.Subject, Role: role, Token: token}, nil
}
