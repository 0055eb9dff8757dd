// Package session keeps the web BFF's server-side sessions. The browser holds
// only an opaque, random session id in an HttpOnly cookie; the id maps to the
// user's access and refresh tokens here (the token-handler pattern: no token
// ever reaches the browser), so that deleting the session on logout really
// ends it.
package session

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"time"
)

// IDBytes is the number of random bytes in a session id.
const IDBytes = 32

// IDLen is the length of a session id: IDBytes in unpadded base64url.
const IDLen = (IDBytes*8 + 5) / 6

// ErrInvalid is returned by Create for a session that has no token or has
// already expired.
var ErrInvalid = errors.New("session: invalid session")

var errDuplicateID = errors.New("session: duplicate id")

// Session is what a session id stands for.
type Session struct {
	// Token is the user's access token, forwarded to the services.
	Token string
	// TokenIssuedAt and TokenExpiresAt bound Token's life: the session
	// renews it with RefreshToken before it ends.
	TokenIssuedAt, TokenExpiresAt time.Time
	// RefreshToken renews Token at the user service (each use gives a new
	// one); empty, the session ends with Token.
	RefreshToken string
	// UserID is the user's id (the token's subject).
	UserID string
	// Role is the user's role.
	Role string
	// ExpiresAt is when the session ends: when RefreshToken stops working
	// if unused (idle), or with Token when there is no RefreshToken.
	ExpiresAt time.Time
}

// Store keeps sessions by id. It is an interface so that a store shared by
// many replicas (Redis, say) can replace the in-memory default.
type Store interface {
	// Create stores s under a new random id (IDBytes bytes, base64url) and
	// returns the id. It returns ErrInvalid for a session without a token or
	// already expired.
	Create(ctx context.Context, s Session) (id string, err error)
	// Get returns the session for id. An unknown or expired id is not found
	// (false), without an error.
	Get(ctx context.Context, id string) (Session, bool, error)
	// Update replaces the session of id with s (renewed tokens), which then
	// lasts until s.ExpiresAt. It reports false, without an error, when
	// the session is gone (ended meanwhile), and ErrInvalid as Create does.
	Update(ctx context.Context, id string, s Session) (bool, error)
	// Delete ends the session; deleting an unknown id is not an error.
	Delete(ctx context.Context, id string) error
	// DeleteUser ends every session of the user (sign-out everywhere) and
	// returns how many there were.
	DeleteUser(ctx context.Context, userID string) (int, error)
}

// NewID returns a new session id: IDBytes random bytes from crypto/rand in
// unpadded base64url.
func NewID() (string, error) {
	b := make([]byte, IDBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("session: random id: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// Validate checks that s can be stored at now: it has a token and has not
// expired. Every Store checks it in Create.
func Validate(s Session, now time.Time) error {
	if s.Token == "" {
		return fmt.Errorf("%w: no token", ErrInvalid)
	}
	if !s.ExpiresAt.After(now) {
		return fmt.Errorf("%w: expired at %s", ErrInvalid, s.ExpiresAt.Format(time.RFC3339))
	}
	return nil
}
