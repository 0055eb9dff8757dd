package auth

import (
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Issuer signs access tokens with the key of a KeySet that signs at the
// time of issue (a key published ahead of its time does not sign yet).
type Issuer struct {
	Keys     *KeySet
	Issuer   string
	Audience string
	TTL      time.Duration
	Now      func() time.Time
}

// Issue returns a signed token for the user and its expiry time.
func (i *Issuer) Issue(subject, role string) (string, time.Time, error) {
	now := time.Now
	if i.Now != nil {
		now = i.Now
	}
	at := now()
	issuedAt := at.UTC().Truncate(time.Second)
	exp := issuedAt.Add(i.TTL)
	claims := Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    i.Issuer,
			Subject:   subject,
			Audience:  jwt.ClaimStrings{i.Audience},
			IssuedAt:  jwt.NewNumericDate(issuedAt),
			ExpiresAt: jwt.NewNumericDate(exp),
		},
		Role: role,
	}
	kid, key := i.Keys.signerAt(at)
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	tok.Header["kid"] = kid
	signed, err := tok.SignedString(key)
	if err != nil {
		return "", time.Time{}, err
	}
	return signed, exp, nil
}
