// Package authn authenticates the BFFs' callers: sign-in at the user
// service (SignIn, with the login limits), the web BFF's server-side
// sessions behind an HttpOnly cookie, the mobile BFF's API keys and bearer
// tokens, and the @hasRole schema directive.
package authn

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/acme/bff-gateway/internal/apperr"
	"github.com/acme/bff-gateway/internal/auth"
	"github.com/acme/bff-gateway/internal/bff/session"
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
	// unchecked is the cookie's session id when the store could not be
	// asked about it: signing out must still try to end it.
	unchecked string
}

type exchangeKey struct{}

// Middleware puts the principal of a valid session in the context. A
// request without one goes on anonymous; an unknown or expired session's
// cookie is cleared. When the store cannot be asked (a shared store
// down), the request goes on without a principal but marked
// (auth.NewContextWithCredentialsUnchecked): what needs the user answers
// SERVICE_UNAVAILABLE, public fields answer, and the cookie is kept: the
// session is still there for when the store is back.
func (s *Sessions) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ex := &exchange{s: s, w: w, r: r}
		ctx := r.Context()
		if c, err := r.Cookie(s.Cookie); err == nil && c.Value != "" && len(c.Value) <= MaxCookieBytes {
			switch p, ok, err := s.principal(ctx, c.Value); {
			case err != nil:
				ex.unchecked = c.Value
				ctx = auth.NewContextWithCredentialsUnchecked(ctx)
			case ok:
				ex.sessionID = c.Value
				ctx = auth.NewContextWithPrincipal(ctx, p)
			default:
				http.SetCookie(w, s.cookie(r, "", -1))
			}
		}
		ctx = context.WithValue(ctx, exchangeKey{}, ex)
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// principal returns the principal of session id; an error only when the
// store failed.
func (s *Sessions) principal(ctx context.Context, id string) (auth.Principal, bool, error) {
	sess, ok, err := s.Store.Get(ctx, id)
	if err != nil {
		return auth.Principal{}, false, err
	}
	if !ok {
		return auth.Principal{}, false, nil
	}
	// A token that no longer verifies (expired, its key retired) ends the
	// session as an unknown id would: not an error of the store.
	if p, err := s.Verifier.Verify(ctx, sess.Token); err == nil {
		return p, true, nil
	}
	return auth.Principal{}, false, nil
}

// storeUnavailable is the error of a session store that failed: the
// request can be tried again.
func storeUnavailable(what string, err error) error {
	return apperr.Wrap(apperr.Unavailable, what+": sessions are unavailable for a moment; try again", err)
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
	for _, previous := range []string{ex.sessionID, ex.unchecked} {
		if previous == "" {
			continue
		}
		if err := ex.s.Store.Delete(ctx, previous); err != nil {
			return storeUnavailable("could not end the previous session", err)
		}
	}
	ex.sessionID, ex.unchecked = "", ""
	id, err := ex.s.Store.Create(ctx, session.Session{Token: p.Token, UserID: p.Subject, Role: string(p.Role), ExpiresAt: expiresAt})
	switch {
	case errors.Is(err, session.ErrInvalid):
		return apperr.Wrap(apperr.Internal, "could not start the session", err)
	case err != nil:
		return storeUnavailable("could not start the session", err)
	}
	maxAge := int(time.Until(expiresAt).Seconds())
	if ex.s.Now != nil {
		maxAge = int(expiresAt.Sub(ex.s.Now()).Seconds())
	}
	http.SetCookie(ex.w, ex.s.cookie(ex.r, id, maxAge))
	return nil
}

// EndSession deletes the request's session, if any, and clears its
// cookie. When the store fails it answers Unavailable and keeps the
// cookie: a sign-out that did not end the session must not look as if it
// had.
func EndSession(ctx context.Context) error {
	ex, err := exchangeFrom(ctx)
	if err != nil {
		return err
	}
	for _, id := range []string{ex.sessionID, ex.unchecked} {
		if id == "" {
			continue
		}
		if err := ex.s.Store.Delete(ctx, id); err != nil {
			return storeUnavailable("could not end the session", err)
		}
	}
	http.SetCookie(ex.w, ex.s.cookie(ex.r, "", -1))
	return nil
}
