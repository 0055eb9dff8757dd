// Package authn authenticates the BFFs' callers: sign-in at the user
// service (SignIn, with the login limits), the web BFF's server-side
// sessions behind an HttpOnly cookie, the mobile BFF's API keys and bearer
// tokens, and the @hasRole schema directive.
package authn

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/acme/bff-gateway/internal/apperr"
	"github.com/acme/bff-gateway/internal/auth"
	"github.com/acme/bff-gateway/internal/bff/session"
	"github.com/acme/bff-gateway/internal/requestctx"
)

// MaxCookieBytes bounds the session cookie that is looked at.
const MaxCookieBytes = 4 << 10

// Sessions authenticates web requests by their session cookie, and keeps
// a session's access token fresh with its refresh token: a user who keeps
// using the session is never signed out by the access token's expiry.
type Sessions struct {
	Store    session.Store
	Verifier Verifier
	// Tokens renews and revokes sessions' tokens at the user service.
	Tokens TokenRenewer
	// Cookie is the session cookie's name.
	Cookie string
	// Secure is "auto", "always" or "never".
	Secure string
	Now    func() time.Time

	flight singleflight.Group
}

// exchange lets resolvers start and end the session of the request.
type exchange struct {
	s         *Sessions
	w         http.ResponseWriter
	r         *http.Request
	sessionID string
	// session is the session of sessionID, as renewed for the request.
	session session.Session
	// unchecked is the cookie's session id when the store could not be
	// asked about it: signing out must still try to end it.
	unchecked string
}

type exchangeKey struct{}

// Middleware puts the principal of a valid session in the context,
// renewing the session's access token first when it is near its end. A
// request without one goes on anonymous; an unknown, expired or revoked
// session's cookie is cleared. When the store or the renewal cannot be
// done now (a shared store or the user service down) and the session's
// token is no longer good, the request goes on without a principal but
// marked (auth.NewContextWithCredentialsUnchecked): what needs the user
// answers SERVICE_UNAVAILABLE, public fields answer, and the cookie is
// kept: the session is still there for when they are back.
func (s *Sessions) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ex := &exchange{s: s, w: w, r: r}
		ctx := r.Context()
		if c, err := r.Cookie(s.Cookie); err == nil && c.Value != "" && len(c.Value) <= MaxCookieBytes {
			switch sess, p, renewed, err := s.principal(ctx, c.Value); {
			case err != nil:
				ex.unchecked = c.Value
				ctx = auth.NewContextWithCredentialsUnchecked(ctx)
			case p.Subject != "":
				ex.sessionID, ex.session = c.Value, sess
				ctx = auth.NewContextWithPrincipal(ctx, p)
				if renewed {
					// The cookie lasts as long as the session now does.
					http.SetCookie(w, s.cookie(r, c.Value, maxAge(sess.ExpiresAt.Sub(s.now()))))
				}
			default:
				http.SetCookie(w, s.cookie(r, "", -1))
			}
		}
		ctx = context.WithValue(ctx, exchangeKey{}, ex)
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// principal returns the session of id, renewed (and saying so) if it was
// due, and its principal (none when there is no valid session); an error
// when the store failed, or when the renewal failed and the token the
// session has is no longer good.
func (s *Sessions) principal(ctx context.Context, id string) (sess session.Session, p auth.Principal, renewed bool, err error) {
	sess, ok, err := s.Store.Get(ctx, id)
	if err != nil || !ok {
		return session.Session{}, auth.Principal{}, false, err
	}
	if dueForRefresh(sess, s.now()) && s.Tokens != nil {
		next, err := s.renew(ctx, id, sess)
		switch {
		case errors.Is(err, errSessionOver):
			return session.Session{}, auth.Principal{}, false, nil
		case err != nil && !sess.TokenExpiresAt.After(s.now()):
			return session.Session{}, auth.Principal{}, false, err
		case err != nil:
			// Not renewed now: the token still has a moment; the next
			// request tries again.
			requestctx.LoggerFromContext(ctx).WarnContext(ctx, "could not renew a session's tokens yet", slog.Any("err", err))
		default:
			sess, renewed = next, true
		}
	}
	// A token that no longer verifies (expired, its key retired) ends the
	// session as an unknown id would: not an error of the store. One whose
	// key this BFF has not fetched yet is not the session's fault: the
	// request cannot be served as the user now, but the session stays.
	p, err = s.Verifier.Verify(ctx, sess.Token)
	switch {
	case err == nil:
		return sess, p, renewed, nil
	case errors.Is(err, auth.ErrUnknownKey):
		return session.Session{}, auth.Principal{}, false, err
	}
	return session.Session{}, auth.Principal{}, false, nil
}

// storeUnavailable is the error of a session store that failed: the
// request can be tried again.
func storeUnavailable(what string, err error) error {
	return apperr.Wrap(apperr.Unavailable, what+": sessions are unavailable for a moment; try again", err)
}

// maxAge is a cookie's Max-Age for a session that lasts d: whole seconds,
// rounded up, so that the cookie never ends before the session.
func maxAge(d time.Duration) int { return int(math.Ceil(d.Seconds())) }

func (s *Sessions) cookie(r *http.Request, value string, maxAge int) *http.Cookie {
	secure := s.Secure == "always" || (s.Secure == "auto" && r.TLS != nil)
	return &http.Cookie{
		Name:     s.Cookie,
		Value:    value,
		Path:     "/",
		MaxAge:   maxAge,
		HttpOnly: true,
		Secure:   secure,
		SameSite: http.SameSiteStrictMode,
	}
}

func exchangeFrom(ctx context.Context) (*exchange, error) {
	ex, ok := ctx.Value(exchangeKey{}).(*exchange)
	if !ok {
		return nil, errors.New("authn: no session exchange in the context; is Sessions.Middleware installed?")
	}
	return ex, nil
}

// StartSession stores a session for a sign-in (its verified access token
// and its refresh token) and sets its HttpOnly cookie on the answer, ending
// the request's previous session if it had one. No token ever reaches the
// browser. The session lasts as long as its refresh token stays unused,
// renewed with it; without one, as long as the access token.
func StartSession(ctx context.Context, in SignedIn) error {
	ex, err := exchangeFrom(ctx)
	if err != nil {
		return err
	}
	for _, previous := range []string{ex.sessionID, ex.unchecked} {
		if previous == "" {
			continue
		}
		if err := ex.s.Store.Delete(ctx, previous); err != nil {
			return storeUnavailable("could not end the previous session", err)
		}
	}
	ex.sessionID, ex.unchecked = "", ""
	sess := session.Session{
		Token:          in.Principal.Token,
		TokenIssuedAt:  in.IssuedAt,
		TokenExpiresAt: in.ExpiresAt,
		RefreshToken:   in.RefreshToken,
		UserID:         in.Principal.Subject,
		Role:           string(in.Principal.Role),
		ExpiresAt:      in.ExpiresAt,
	}
	if in.RefreshToken != "" {
		sess.ExpiresAt = in.RefreshExpiresAt
	}
	id, err := ex.s.Store.Create(ctx, sess)
	switch {
	case errors.Is(err, session.ErrInvalid):
		return apperr.Wrap(apperr.Internal, "could not start the session", err)
	case err != nil:
		return storeUnavailable("could not start the session", err)
	}
	ex.sessionID, ex.session = id, sess
	http.SetCookie(ex.w, ex.s.cookie(ex.r, id, maxAge(sess.ExpiresAt.Sub(ex.s.now()))))
	return nil
}

// EndSession revokes the request's session's refresh token at the user
// service, deletes the session, if any, and clears its cookie. When the
// store fails it answers Unavailable and keeps the cookie: a sign-out that
// did not end the session must not look as if it had. A revocation that
// fails is logged: the session is ended all the same, and its refresh
// token, which only the session held, expires unused.
func EndSession(ctx context.Context) error {
	ex, err := exchangeFrom(ctx)
	if err != nil {
		return err
	}
	if rt := ex.session.RefreshToken; rt != "" && ex.s.Tokens != nil {
		if err := ex.s.Tokens.Revoke(ctx, rt); err != nil && !apperr.Is(err, apperr.Unauthenticated) {
			requestctx.LoggerFromContext(ctx).WarnContext(ctx, "sign-out: could not revoke the session's refresh token; it will expire unused",
				slog.Any("err", err))
		}
	}
	return ex.endSession(ctx)
}

// EndEverySession signs the request's user out everywhere: every refresh
// token of the user is revoked at the user service (the app's too), and
// every web session of the user ends, this one included. It needs a
// session; when the user service or the store fails it answers their
// error and nothing is reported done.
func EndEverySession(ctx context.Context) error {
	ex, err := exchangeFrom(ctx)
	if err != nil {
		return err
	}
	p, err := auth.RequirePrincipal(ctx)
	if err != nil {
		return err
	}
	if ex.s.Tokens == nil {
		return apperr.New(apperr.Internal, "sign-out everywhere is not configured")
	}
	if _, err := ex.s.Tokens.RevokeAll(ctx); err != nil {
		return err
	}
	if _, err := ex.s.Store.DeleteUser(ctx, p.Subject); err != nil {
		return storeUnavailable("could not end every session", err)
	}
	return ex.endSession(ctx)
}

// endSession deletes the request's session and clears its cookie.
func (ex *exchange) endSession(ctx context.Context) error {
	for _, id := range []string{ex.sessionID, ex.unchecked} {
		if id == "" {
			continue
		}
		if err := ex.s.Store.Delete(ctx, id); err != nil {
			return storeUnavailable("could not end the session", err)
		}
	}
	ex.sessionID, ex.session = "", session.Session{}
	http.SetCookie(ex.w, ex.s.cookie(ex.r, "", -1))
	return nil
}
