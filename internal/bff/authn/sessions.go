// Package authn authenticates the BFFs' callers: sign-in at the user
// service (SignIn, with the login limits), the web BFF's server-side
// sessions behind an HttpOnly cookie, the mobile BFF's API keys and bearer
// tokens, and the @hasRole schema directive.
package authn

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/acme/bff-gateway/internal/apperr"
	"github.com/acme/bff-gateway/internal/auth"
	"github.com/acme/bff-gateway/internal/bff/session"
	"github.com/acme/bff-gateway/internal/requestctx"
)

// MaxCookieBytes bounds the session cookie that is looked at.
const MaxCookieBytes = 4 << 10

// Sessions authenticates web requests by their session cookie.
type Sessions struct {
	Store    session.Store
	Verifier Verifier
	// Cookie is the session cookie's name.
	Cookie string
	// Secure is "auto", "always" or "never".
	Secure string
	Now    func() time.Time
}

// exchange lets resolvers start and end the session of the request.
type exchange struct {
	s         *Sessions
	w         http.ResponseWriter
	r         *http.Request
	sessionID string
}

type exchangeKey struct{}

// Middleware puts the principal of a valid session in the context. A
// request without one goes on anonymous; an unknown or expired session's
// cookie is cleared.
func (s *Sessions) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ex := &exchange{s: s, w: w, r: r}
		ctx := r.Context()
		if c, err := r.Cookie(s.Cookie); err == nil && c.Value != "" && len(c.Value) <= MaxCookieBytes {
			if p, ok := s.principal(ctx, c.Value); ok {
				ex.sessionID = c.Value
				ctx = auth.NewContextWithPrincipal(ctx, p)
			} else {
				http.SetCookie(w, s.cookie(r, "", -1))
			}
		}
		ctx = context.WithValue(ctx, exchangeKey{}, ex)
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

func (s *Sessions) principal(ctx context.Context, id string) (auth.Principal, bool) {
	sess, ok, err := s.Store.Get(ctx, id)
	if err != nil {
		requestctx.LoggerFromContext(ctx).WarnContext(ctx, "session store", slog.Any("err", err))
		return auth.Principal{}, false
	}
	if !ok {
		return auth.Principal{}, false
	}
	p, err := s.Verifier.Verify(ctx, sess.Token)
	if err != nil {
		return auth.Principal{}, false
	}
	return p, true
}

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

// StartSession stores a session for the verified principal's token and
// sets its HttpOnly cookie on the answer, ending the request's previous
// session if it had one. The token itself never reaches the browser.
func StartSession(ctx context.Context, p auth.Principal, expiresAt time.Time) error {
	ex, err := exchangeFrom(ctx)
	if err != nil {
		return err
	}
	if ex.sessionID != "" {
		if err := ex.s.Store.Delete(ctx, ex.sessionID); err != nil {
			return apperr.Wrap(apperr.Internal, "could not end the previous session", err)
		}
		ex.sessionID = ""
	}
	id, err := ex.s.Store.Create(ctx, session.Session{Token: p.Token, UserID: p.Subject, Role: string(p.Role), ExpiresAt: expiresAt})
	if err != nil {
		return apperr.Wrap(apperr.Internal, "could not start the session", err)
	}
	maxAge := int(time.Until(expiresAt).Seconds())
	if ex.s.Now != nil {
		maxAge = int(expiresAt.Sub(ex.s.Now()).Seconds())
	}
	http.SetCookie(ex.w, ex.s.cookie(ex.r, id, maxAge))
	return nil
}

// EndSession deletes the request's session, if any, and clears its cookie.
func EndSession(ctx context.Context) error {
	ex, err := exchangeFrom(ctx)
	if err != nil {
		return err
	}
	if ex.sessionID != "" {
		if err := ex.s.Store.Delete(ctx, ex.sessionID); err != nil {
			return apperr.Wrap(apperr.Internal, "could not end the session", err)
		}
	}
	http.SetCookie(ex.w, ex.s.cookie(ex.r, "", -1))
	return nil
}
