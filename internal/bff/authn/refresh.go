package authn

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/acme/bff-gateway/internal/apperr"
	"github.com/acme/bff-gateway/internal/bff/session"
	"github.com/acme/bff-gateway/internal/contract"
	"github.com/acme/bff-gateway/internal/requestctx"
)

// TokenRenewer is what the web sessions need of the user service
// (upstream.Users) besides signing in: renewing a session's tokens and
// revoking them.
type TokenRenewer interface {
	Refresh(ctx context.Context, refreshToken string) (contract.TokenResponse, error)
	Revoke(ctx context.Context, refreshToken string) error
	RevokeAll(ctx context.Context) (int, error)
}

// RefreshLocker is a session store that can lock a session across
// replicas (redisstore.Sessions), so that one replica alone renews its
// tokens: a refresh token used twice revokes its family. A store without
// it is one replica's own: Sessions' single flight is enough.
type RefreshLocker interface {
	TryLock(ctx context.Context, id string, ttl time.Duration) (release func(), ok bool, err error)
}

// Bounds of a refresh.
const (
	// MaxRefreshMargin is the most time before its expiry that an access
	// token is renewed; a short-lived token is renewed when a third of
	// its life is left.
	MaxRefreshMargin = time.Minute
	// refreshTimeout bounds a refresh, the wait for another replica's
	// included; refreshLockTTL outlives it, in case the replica holding
	// the lock dies.
	refreshTimeout = 5 * time.Second
	refreshLockTTL = 2 * refreshTimeout
	// refreshPoll is how often a replica waiting for another's refresh
	// looks at the session again.
	refreshPoll = 25 * time.Millisecond
)

// errSessionOver is the outcome of a refresh the user service refused:
// the family was revoked, reused or expired; the session has been
// deleted.
var errSessionOver = errors.New("authn: the session's refresh token was refused; the session is over")

// dueForRefresh reports whether sess's access token should be renewed at
// now: it has a refresh token and less than the margin of its token's life
// is left.
func dueForRefresh(sess session.Session, now time.Time) bool {
	if sess.RefreshToken == "" || sess.TokenExpiresAt.IsZero() {
		return false
	}
	margin := min(MaxRefreshMargin, sess.TokenExpiresAt.Sub(sess.TokenIssuedAt)/3)
	return !now.Before(sess.TokenExpiresAt.Add(-margin))
}

// renew returns sess of id with renewed tokens, renewing them once for all
// the requests of the session that ask at the same time, in this replica
// (single flight) and across replicas (the store's lock). It returns
// errSessionOver when the user service refused the refresh token (the
// session is then deleted), another error when the renewal could not be
// done now.
func (s *Sessions) renew(ctx context.Context, id string, sess session.Session) (session.Session, error) {
	v, err, _ := s.flight.Do(id, func() (any, error) {
		// The first request's cancellation must not fail the others.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), refreshTimeout)
		defer cancel()
		return s.renewOnce(ctx, id, sess)
	})
	if err != nil {
		return session.Session{}, err
	}
	return v.(session.Session), nil
}

func (s *Sessions) renewOnce(ctx context.Context, id string, sess session.Session) (session.Session, error) {
	if locker, ok := s.Store.(RefreshLocker); ok {
		release, ok, err := locker.TryLock(ctx, id, refreshLockTTL)
		if err != nil {
			return session.Session{}, err
		}
		if !ok {
			return s.awaitRenewal(ctx, id, sess)
		}
		defer release()
	}
	// Another replica may have renewed it since it was read.
	cur, ok, err := s.Store.Get(ctx, id)
	switch {
	case err != nil:
		return session.Session{}, err
	case !ok:
		return session.Session{}, errSessionOver
	case cur.RefreshToken != sess.RefreshToken || !dueForRefresh(cur, s.now()):
		return cur, nil
	}
	tok, err := s.Tokens.Refresh(ctx, cur.RefreshToken)
	if apperr.Is(err, apperr.Unauthenticated) || apperr.Is(err, apperr.RefreshTokenReused) {
		requestctx.LoggerFromContext(ctx).WarnContext(ctx, "session ended: the user service refused its refresh token",
			slog.String("user_id", cur.UserID), slog.String("code", string(apperr.CodeOf(err))))
		if derr := s.Store.Delete(ctx, id); derr != nil {
			return session.Session{}, derr
		}
		return session.Session{}, errSessionOver
	}
	if err != nil {
		return session.Session{}, fmt.Errorf("refresh the session's tokens: %w", err)
	}
	p, err := issuedPrincipal(ctx, s.Verifier, tok.AccessToken)
	if err != nil || p.Subject != cur.UserID {
		// Not this session's user's: end it rather than keep a pair that
		// is not its own.
		requestctx.LoggerFromContext(ctx).ErrorContext(ctx, "session ended: a refreshed token is not the session's",
			slog.String("user_id", cur.UserID), slog.Any("err", err))
		_ = s.Tokens.Revoke(ctx, tok.RefreshToken)
		if derr := s.Store.Delete(ctx, id); derr != nil {
			return session.Session{}, derr
		}
		return session.Session{}, errSessionOver
	}
	now := s.now()
	next := session.Session{
		Token:          tok.AccessToken,
		TokenIssuedAt:  now,
		TokenExpiresAt: now.Add(time.Duration(tok.ExpiresIn) * time.Second),
		RefreshToken:   tok.RefreshToken,
		UserID:         cur.UserID,
		Role:           string(p.Role),
		ExpiresAt:      now.Add(time.Duration(tok.RefreshExpiresIn) * time.Second),
	}
	// The old refresh token is spent: the new one must be kept, or the
	// next renewal would present a spent token and end the session.
	updated, err := s.Store.Update(ctx, id, next)
	if err != nil {
		updated, err = s.Store.Update(ctx, id, next)
	}
	switch {
	case err != nil:
		return session.Session{}, err
	case !updated: // signed out meanwhile: end the family just made
		_ = s.Tokens.Revoke(ctx, next.RefreshToken)
		return session.Session{}, errSessionOver
	}
	return next, nil
}

// awaitRenewal waits for the replica holding the lock of session id to
// renew it, and returns the session it saved.
func (s *Sessions) awaitRenewal(ctx context.Context, id string, sess session.Session) (session.Session, error) {
	t := time.NewTicker(refreshPoll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return session.Session{}, fmt.Errorf("wait for another replica to refresh the session: %w", ctx.Err())
		case <-t.C:
		}
		cur, ok, err := s.Store.Get(ctx, id)
		switch {
		case err != nil:
			return session.Session{}, err
		case !ok:
			return session.Session{}, errSessionOver
		case cur.RefreshToken != sess.RefreshToken:
			return cur, nil
		}
	}
}

func (s *Sessions) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}
