package auth

import (
	"context"
	"crypto"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"
	lru "github.com/hashicorp/golang-lru/v2"

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
	// verified remembers the tokens whose signature and claims were
	// checked, by the SHA-256 of the whole token: a client presents the
	// same token on every request for minutes, and checking an RS256
	// signature costs about 40 µs of CPU, a tenth of a light operation.
	verified *lru.Cache[[sha256.Size]byte, verifiedToken]
	now      func() time.Time
}

// VerifiedTokens bounds how many verified tokens a Verifier remembers
// (about 150 bytes each).
const VerifiedTokens = 10_000

// verifiedToken is what Verify learned of a token it accepted. The token
// stays accepted until its expiry (with Leeway, as when it was checked)
// while the key that signed it is still the one its kid names.
type verifiedToken struct {
	principal Principal // without its Token, which the caller holds
	kid       string
	key       any
	expires   time.Time
}

// NewVerifier returns a verifier of tokens from issuer for audience.
func NewVerifier(keys KeySource, issuer, audience string) *Verifier {
	verified, err := lru.New[[sha256.Size]byte, verifiedToken](VerifiedTokens)
	if err != nil {
		panic(err) // only for a size below 1
	}
	v := &Verifier{keys: keys, verified: verified, now: time.Now}
	v.parser = jwt.NewParser(
		jwt.WithValidMethods(allowedAlgorithms),
		jwt.WithIssuer(issuer),
		jwt.WithAudience(audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(Leeway),
		jwt.WithTimeFunc(func() time.Time { return v.now() }),
	)
	return v
}

// Verify checks raw and returns its principal. Every failure is an
// Unauthenticated error; the reason is kept as its cause for logs.
//
// A token verified before is accepted again without checking its
// signature while it has not expired and its key id still names the same
// key: a key dropped from the key set, or replaced, makes it checked
// again (and refused if its key is gone).
func (v *Verifier) Verify(ctx context.Context, raw string) (Principal, error) {
	sum := sha256.Sum256([]byte(raw))
	if t, ok := v.verified.Get(sum); ok {
		if v.now().Before(t.expires) && v.sameKey(ctx, t.kid, t.key) {
			p := t.principal
			p.Token = raw
			return p, nil
		}
		v.verified.Remove(sum)
	}
	var kid string
	var key any
	claims := &Claims{}
	_, err := v.parser.ParseWithClaims(raw, claims, func(t *jwt.Token) (any, error) {
		kid, _ = t.Header["kid"].(string)
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
		key = jwk.Key
		return jwk.Key, nil
	})
	if err != nil {
		return Principal{}, apperr.Wrap(apperr.Unauthenticated, "invalid or expired token", err)
	}
	role := Role(claims.Role)
	if !ids.ValidUser(claims.Subject) || (role != RoleCustomer && role != RoleAdmin) {
		return Principal{}, apperr.New(apperr.Unauthenticated, "invalid or expired token")
	}
	p := Principal{Subject: claims.Subject, Role: role}
	v.verified.Add(sum, verifiedToken{principal: p, kid: kid, key: key, expires: claims.ExpiresAt.Add(Leeway)})
	p.Token = raw
	return p, nil
}

// sameKey reports whether kid still names key in the key set (the same
// public key: a key set fetched again holds equal keys, not the same
// values).
func (v *Verifier) sameKey(ctx context.Context, kid string, key any) bool {
	jwk, err := v.keys.VerificationKey(ctx, kid)
	if err != nil {
		return false
	}
	k, ok := key.(interface{ Equal(crypto.PublicKey) bool })
	return ok && k.Equal(jwk.Key)
}
