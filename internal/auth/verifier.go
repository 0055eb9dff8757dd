package auth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"

	"github.com/acme/bff-gateway/internal/apperr"
	"github.com/acme/bff-gateway/internal/ids"
)

// ErrUnknownKey is returned by a KeySource for a key id it does not hold.
var ErrUnknownKey = errors.New("unknown signing key")

// KeySource finds the public key a token names by its kid header.
type KeySource interface {
	VerificationKey(ctx context.Context, kid string) (jose.JSONWebKey, error)
}

// Claims are the claims of an access token.
type Claims struct {
	jwt.RegisteredClaims
	Role string `json:"role"`
}

// Default token settings.
const (
	DefaultIssuer   = "bff-gateway-user-service"
	DefaultAudience = "bff-gateway"
	DefaultTokenTTL = 15 * time.Minute
	// DefaultRefreshIdleTTL is how long a refresh token stays usable
	// unused; each refresh gives a new one.
	DefaultRefreshIdleTTL = 24 * time.Hour
	// DefaultRefreshAbsoluteTTL is how long a family of refresh tokens
	// (one sign-in and its refreshes) lasts at most, however used.
	DefaultRefreshAbsoluteTTL = 7 * 24 * time.Hour
	// DefaultKeyPrepublish is how long a new signing key is published in
	// the JWKS before it signs: more than DefaultJWKSRefresh, so that every
	// verifier has fetched it before it meets a token it signed.
	DefaultKeyPrepublish = 10 * time.Minute
	// Leeway is the clock skew allowed on exp, nbf and iat.
	Leeway = 30 * time.Second
)

// allowedAlgorithms are the only algorithms a token may use; each key is
// further pinned to its own algorithm.
var allowedAlgorithms = []string{"RS256", "ES256"}

// Verifier checks access tokens: signature by a known key with that key's
// own algorithm, issuer, audience, expiry and not-before.
type Verifier struct {
	keys   KeySource
	parser *jwt.Parser
}

// NewVerifier returns a verifier of tokens from issuer for audience.
func NewVerifier(keys KeySource, issuer, audience string) *Verifier {
	return &Verifier{
		keys: keys,
		parser: jwt.NewParser(
			jwt.WithValidMethods(allowedAlgorithms),
			jwt.WithIssuer(issuer),
			jwt.WithAudience(audience),
			jwt.WithExpirationRequired(),
			jwt.WithIssuedAt(),
			jwt.WithLeeway(Leeway),
		),
	}
}

// Verify checks raw and returns its principal. Every failure is an
// Unauthenticated error; the reason is kept as its cause for logs.
func (v *Verifier) Verify(ctx context.Context, raw string) (Principal, error) {
	claims := &Claims{}
	_, err := v.parser.ParseWithClaims(raw, claims, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		if kid == "" {
			return nil, errors.New("token has no kid")
		}
		jwk, err := v.keys.VerificationKey(ctx, kid)
		if err != nil {
			return nil, err
		}
		if jwk.Algorithm != t.Method.Alg() {
			return nil, fmt.Errorf("algorithm %s does not match key %s", t.Method.Alg(), kid)
		}
		return jwk.Key, nil
	})
	if err != nil {
		return Principal{}, apperr.Wrap(apperr.Unauthenticated, "invalid or expired token", err)
	}
	role := Role(claims.Role)
	if !ids.ValidUser(claims.Subject) || (role != RoleCustomer && role != RoleAdmin) {
		return Principal{}, apperr.New(apperr.Unauthenticated, "invalid or expired token")
	}
	return Principal{Subject: claims.Subject, Role: role, Token: raw}, nil
}
