package usersvc

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/acme/bff-gateway/internal/apperr"
	"github.com/acme/bff-gateway/internal/ids"
	"github.com/acme/bff-gateway/services/internal/sqlitedb"
)

// Refresh tokens are opaque: refreshTokenPrefix and the base64url of
// refreshTokenBytes random bytes (256 bits). Only their SHA-256 is stored.
const (
	refreshTokenPrefix = "rt_"
	refreshTokenBytes  = 32
	// maxRefreshTokenLen bounds a refresh token in a request; longer
	// ones are refused before anything else.
	maxRefreshTokenLen = 128
	// familyIDPrefix marks the ids of families (in the database and the
	// logs only).
	familyIDPrefix = "rtf_"
	// pruneAfter is how long past its absolute expiry a family (and its
	// tokens) is kept; pruneBatch bounds the families one sign-in deletes.
	pruneAfter = 24 * time.Hour
	pruneBatch = 100
)

// Why a family was revoked (refresh_families.revoked_reason).
const (
	revokedReuse      = "reuse"
	revokedSignout    = "signout"
	revokedSignoutAll = "signout_all"
)

// refreshLifetimes are the lifetimes of refresh tokens.
type refreshLifetimes struct {
	// idle is how long a refresh token stays usable unused.
	idle time.Duration
	// absolute is how long a family lasts at most.
	absolute time.Duration
}

// errInvalidRefresh is the one answer to an unknown, expired or revoked
// refresh token, or one of a user that no longer exists.
func errInvalidRefresh() error {
	return apperr.New(apperr.Unauthenticated, "invalid or expired refresh token")
}

// reuseDetected is the cause of a RefreshTokenReused error: the family a
// rotated token was presented from, now revoked. It names no token.
type reuseDetected struct {
	userID, familyID string
}

func (e *reuseDetected) Error() string { return "a rotated refresh token was presented again" }

func errReused(f familyToken) error {
	return apperr.Wrap(apperr.RefreshTokenReused,
		"this refresh token was already used: every token of its sign-in is revoked, sign in again",
		&reuseDetected{userID: f.userID, familyID: f.familyID})
}

// newRefreshToken returns a new refresh token and its hash.
func newRefreshToken() (token, hash string, err error) {
	var b [refreshTokenBytes]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", "", fmt.Errorf("refresh token: %w", err)
	}
	token = refreshTokenPrefix + base64.RawURLEncoding.EncodeToString(b[:])
	return token, hashRefreshToken(token), nil
}

// hashRefreshToken returns the hex SHA-256 of a refresh token, the only
// form it is stored in.
func hashRefreshToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// tsLayout is how refresh times are stored: UTC, of fixed width, so that
// SQLite compares them as text in their order.
const tsLayout = "2006-01-02T15:04:05.000000000Z"

func ts(t time.Time) string { return t.UTC().Format(tsLayout) }

// familyToken is a refresh token as found, with its family.
type familyToken struct {
	hash, familyID, userID string
	familyExpires          time.Time
	revoked, rotated       bool
	idleExpires            time.Time
}

// tokenState is what a refresh token found is worth at a moment.
type tokenState int

const (
	tokenLive    tokenState = iota
	tokenInvalid            // revoked family, or expired (idle or absolute)
	tokenReused             // rotated already, in a live family
)

func (f familyToken) state(now time.Time) tokenState {
	switch {
	case f.revoked, !now.Before(f.familyExpires):
		return tokenInvalid
	case f.rotated:
		return tokenReused
	case !now.Before(f.idleExpires):
		return tokenInvalid
	}
	return tokenLive
}

// lookupRefresh finds a refresh token and its family in tx.
func lookupRefresh(ctx context.Context, tx *sql.Tx, token string) (familyToken, bool, error) {
	if !strings.HasPrefix(token, refreshTokenPrefix) {
		return familyToken{}, false, nil
	}
	f := familyToken{hash: hashRefreshToken(token)}
	var familyExpires, idleExpires string
	var revokedAt, rotatedAt sql.NullString
	err := tx.QueryRowContext(ctx, `SELECT t.family_id, f.user_id, f.expires_at, f.revoked_at, t.rotated_at, t.idle_expires_at
		FROM refresh_tokens t JOIN refresh_families f ON f.id = t.family_id WHERE t.hash = ?`, f.hash).
		Scan(&f.familyID, &f.userID, &familyExpires, &revokedAt, &rotatedAt, &idleExpires)
	if errors.Is(err, sql.ErrNoRows) {
		return familyToken{}, false, nil
	}
	if err != nil {
		return familyToken{}, false, dbError("read refresh token", err)
	}
	if f.familyExpires, err = sqlitedb.ParseTime(familyExpires); err != nil {
		return familyToken{}, false, fmt.Errorf("parse expires_at of %s: %w", f.familyID, err)
	}
	if f.idleExpires, err = sqlitedb.ParseTime(idleExpires); err != nil {
		return familyToken{}, false, fmt.Errorf("parse idle_expires_at of %s: %w", f.familyID, err)
	}
	f.revoked, f.rotated = revokedAt.Valid, rotatedAt.Valid
	return f, true, nil
}

// insertRefresh stores a new current token of a family.
func insertRefresh(ctx context.Context, tx *sql.Tx, hash, familyID string, now, idleExpires time.Time) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO refresh_tokens (hash, family_id, issued_at, idle_expires_at) VALUES (?, ?, ?, ?)`,
		hash, familyID, ts(now), ts(idleExpires)); err != nil {
		return dbError("store refresh token", err)
	}
	return nil
}

// revokeFamily revokes a family, unless it is already.
func revokeFamily(ctx context.Context, tx *sql.Tx, familyID, reason string, now time.Time) error {
	if _, err := tx.ExecContext(ctx, `UPDATE refresh_families SET revoked_at = ?, revoked_reason = ? WHERE id = ? AND revoked_at IS NULL`,
		ts(now), reason, familyID); err != nil {
		return dbError("revoke refresh tokens", err)
	}
	return nil
}

// commitReuse revokes the family of a reused token, commits and returns
// the RefreshTokenReused error. The revocation is committed even if the
// caller has gone.
func commitReuse(ctx context.Context, tx *sql.Tx, f familyToken, now time.Time) error {
	ctx = context.WithoutCancel(ctx)
	if err := revokeFamily(ctx, tx, f.familyID, revokedReuse, now); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return dbError("revoke refresh tokens", err)
	}
	return errReused(f)
}

// startFamily starts a family for a user who just signed in and returns
// its first refresh token and when that expires unused. In the same write
// transaction it deletes a few families whose absolute expiry passed more
// than pruneAfter ago (their tokens go with them).
func (s *store) startFamily(ctx context.Context, userID string, now time.Time, lt refreshLifetimes) (string, time.Time, error) {
	token, hash, err := newRefreshToken()
	if err != nil {
		return "", time.Time{}, err
	}
	familyID := ids.New(familyIDPrefix)
	expires := now.Add(lt.absolute)
	idleExpires := minTime(now.Add(lt.idle), expires)

	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return "", time.Time{}, dbError("start refresh tokens", err)
	}
	defer func() { _ = tx.Rollback() }() // after Commit, a no-op returning sql.ErrTxDone
	if _, err := tx.ExecContext(ctx, `DELETE FROM refresh_families WHERE id IN
		(SELECT id FROM refresh_families WHERE expires_at < ? LIMIT ?)`, ts(now.Add(-pruneAfter)), pruneBatch); err != nil {
		return "", time.Time{}, dbError("prune refresh tokens", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO refresh_families (id, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)`,
		familyID, userID, ts(now), ts(expires)); err != nil {
		return "", time.Time{}, dbError("start refresh tokens", err)
	}
	if err := insertRefresh(ctx, tx, hash, familyID, now, idleExpires); err != nil {
		return "", time.Time{}, err
	}
	if err := tx.Commit(); err != nil {
		return "", time.Time{}, dbError("start refresh tokens", err)
	}
	return token, idleExpires, nil
}

// rotateRefresh exchanges a live refresh token for a new one of the same
// family, in one write transaction (BEGIN IMMEDIATE: of two concurrent
// refreshes of a token the second sees it rotated). issue is called with
// the family's user and role before the commit; its failure undoes the
// rotation. It returns the new token and when it expires unused:
// min(now + idle, the family's expiry).
// Errors: unauthenticated (unknown, expired, revoked, or its user gone),
// refresh_token_reused (a rotated token: its family is revoked, committed).
func (s *store) rotateRefresh(ctx context.Context, token string, now time.Time, idle time.Duration, issue func(userID, role string) error) (string, time.Time, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return "", time.Time{}, dbError("refresh", err)
	}
	defer func() { _ = tx.Rollback() }() // after Commit, a no-op returning sql.ErrTxDone

	f, found, err := lookupRefresh(ctx, tx, token)
	switch {
	case err != nil:
		return "", time.Time{}, err
	case !found:
		return "", time.Time{}, errInvalidRefresh()
	}
	switch f.state(now) {
	case tokenInvalid:
		return "", time.Time{}, errInvalidRefresh()
	case tokenReused:
		return "", time.Time{}, commitReuse(ctx, tx, f, now)
	}
	var role string
	err = tx.QueryRowContext(ctx, `SELECT role FROM users WHERE id = ?`, f.userID).Scan(&role)
	if errors.Is(err, sql.ErrNoRows) {
		return "", time.Time{}, errInvalidRefresh()
	}
	if err != nil {
		return "", time.Time{}, dbError("read user", err)
	}

	res, err := tx.ExecContext(ctx, `UPDATE refresh_tokens SET rotated_at = ? WHERE hash = ? AND rotated_at IS NULL`, ts(now), f.hash)
	if err != nil {
		return "", time.Time{}, dbError("rotate refresh token", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return "", time.Time{}, dbError("rotate refresh token", err)
	}
	if n != 1 {
		// The write lock is held since BEGIN IMMEDIATE: the token read
		// above as current cannot have been rotated since.
		return "", time.Time{}, fmt.Errorf("rotate refresh token: %d rows changed", n)
	}
	next, hash, err := newRefreshToken()
	if err != nil {
		return "", time.Time{}, err
	}
	idleExpires := minTime(now.Add(idle), f.familyExpires)
	if err := insertRefresh(ctx, tx, hash, f.familyID, now, idleExpires); err != nil {
		return "", time.Time{}, err
	}
	if err := issue(f.userID, role); err != nil {
		return "", time.Time{}, err
	}
	if err := tx.Commit(); err != nil {
		return "", time.Time{}, dbError("refresh", err)
	}
	return next, idleExpires, nil
}

// revokeByToken revokes the family of a live refresh token (sign-out).
// When callerID is not empty (a bearer token came with the request), the
// token must be the caller's.
// Errors: unauthenticated (unknown, expired or revoked), forbidden
// (another user's; nothing is revoked), refresh_token_reused (a rotated
// token: its family is revoked as for a refresh).
func (s *store) revokeByToken(ctx context.Context, token, callerID string, now time.Time) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return dbError("revoke refresh tokens", err)
	}
	defer func() { _ = tx.Rollback() }() // after Commit, a no-op returning sql.ErrTxDone

	f, found, err := lookupRefresh(ctx, tx, token)
	switch {
	case err != nil:
		return err
	case !found:
		return errInvalidRefresh()
	case callerID != "" && f.userID != callerID:
		return apperr.New(apperr.Forbidden, "this refresh token belongs to another user")
	}
	switch f.state(now) {
	case tokenInvalid:
		return errInvalidRefresh()
	case tokenReused:
		return commitReuse(ctx, tx, f, now)
	}
	if err := revokeFamily(ctx, tx, f.familyID, revokedSignout, now); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return dbError("revoke refresh tokens", err)
	}
	return nil
}

// revokeAll revokes every live family of a user (sign-out everywhere):
// not revoked, not past its absolute expiry, with a current token not past
// its idle expiry. It returns how many it revoked.
func (s *store) revokeAll(ctx context.Context, userID string, now time.Time) (int, error) {
	at := ts(now)
	res, err := s.db.ExecContext(ctx, `UPDATE refresh_families SET revoked_at = ?, revoked_reason = ?
		WHERE user_id = ? AND revoked_at IS NULL AND expires_at > ?
		AND EXISTS (SELECT 1 FROM refresh_tokens t
			WHERE t.family_id = refresh_families.id AND t.rotated_at IS NULL AND t.idle_expires_at > ?)`,
		at, revokedSignoutAll, userID, at, at)
	if err != nil {
		return 0, dbError("revoke refresh tokens", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, dbError("revoke refresh tokens", err)
	}
	return int(n), nil
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// dbError wraps a database failure with op (sqlitedb.Error: a busy
// database is Unavailable).
func dbError(op string, err error) error { return sqlitedb.Error(op, err) }
