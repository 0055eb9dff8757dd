package usersvc

import (
	"errors"
	"log/slog"
	"net/http"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/acme/bff-gateway/internal/apperr"
	"github.com/acme/bff-gateway/internal/auth"
	"github.com/acme/bff-gateway/internal/contract"
	"github.com/acme/bff-gateway/internal/ids"
	"github.com/acme/bff-gateway/internal/requestctx"
	"github.com/acme/bff-gateway/services/internal/platform"
	"github.com/acme/bff-gateway/services/internal/rest"
)

// handlers serves the user service's API.
type handlers struct {
	store  *store
	keys   *auth.KeySet
	issuer *auth.Issuer
	// refresh are the lifetimes of refresh tokens.
	refresh refreshLifetimes
	// prepublish is how long a new signing key is published before it
	// signs.
	prepublish time.Duration
	now        func() time.Time
	// dummyHash is compared against when an email is unknown, so that the
	// answer takes as long as for a wrong password.
	dummyHash []byte
}

const (
	maxEmailLen    = 254
	maxPasswordLen = 72 // bcrypt's limit
)

func (h *handlers) routes(verifier *auth.Verifier) *http.ServeMux {
	mux := http.NewServeMux()
	authed := platform.Authenticate(verifier)
	mux.Handle("POST /v1/auth/token", rest.HandlerFunc(h.issueToken))
	mux.Handle("POST /v1/auth/refresh", rest.HandlerFunc(h.refreshToken))
	// The bearer token is optional there: revoking all needs it, revoking
	// one refresh token checks it is the caller's when one is sent.
	mux.Handle("POST /v1/auth/revoke", authed(rest.HandlerFunc(h.revoke)))
	mux.Handle("GET "+auth.JWKSPath, rest.HandlerFunc(h.jwks))
	mux.Handle("GET /v1/users/{id}", authed(rest.HandlerFunc(h.getUser)))
	mux.Handle("GET /v1/users", authed(rest.HandlerFunc(h.batchUsers)))
	mux.Handle("GET /v1/users/count", authed(rest.HandlerFunc(h.countUsers)))
	mux.Handle("POST "+RotateKeysPath, authed(rest.HandlerFunc(h.rotateKeys)))
	return mux
}

// issueToken exchanges an email and password for an access token and the
// first refresh token of a new family.
// Errors: invalid_argument, unauthenticated.
func (h *handlers) issueToken(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Cache-Control", "no-store")
	var req contract.TokenRequest
	if err := rest.DecodeJSON(w, r, &req); err != nil {
		return err
	}
	switch {
	case req.Email == "" || len(req.Email) > maxEmailLen:
		return apperr.InvalidParam("email", "email must be 1 to %d characters", maxEmailLen)
	case req.Password == "" || len(req.Password) > maxPasswordLen:
		return apperr.InvalidParam("password", "password must be 1 to %d bytes", maxPasswordLen)
	}
	user, hash, err := h.store.byEmail(r.Context(), req.Email)
	if err != nil && !apperr.Is(err, apperr.NotFound) {
		return err
	}
	if err != nil {
		_ = bcrypt.CompareHashAndPassword(h.dummyHash, []byte(req.Password))
		return apperr.New(apperr.Unauthenticated, "invalid email or password")
	}
	if bcrypt.CompareHashAndPassword([]byte(hash), []byte(req.Password)) != nil {
		return apperr.New(apperr.Unauthenticated, "invalid email or password")
	}
	now := h.now()
	refresh, refreshExpires, err := h.store.startFamily(r.Context(), user.ID, now, h.refresh)
	if err != nil {
		return err
	}
	token, _, err := h.issuer.Issue(user.ID, user.Role)
	if err != nil {
		return err
	}
	return rest.JSON(w, http.StatusOK, h.tokenResponse(token, refresh, refreshExpires.Sub(now)))
}

// tokenResponse is the answer carrying a new pair of tokens.
func (h *handlers) tokenResponse(access, refresh string, refreshLeft time.Duration) contract.TokenResponse {
	return contract.TokenResponse{
		AccessToken:  access,
		TokenType:    "Bearer",
		ExpiresIn:    int(h.issuer.TTL / time.Second),
		RefreshToken: refresh,
		// Rounded down: never past the family's absolute expiry.
		RefreshExpiresIn: int(refreshLeft / time.Second),
	}
}

// refreshTokenParam checks a refresh token's size.
func refreshTokenParam(token string) error {
	if token == "" || len(token) > maxRefreshTokenLen {
		return apperr.InvalidParam("refresh_token", "refresh_token must be 1 to %d characters", maxRefreshTokenLen)
	}
	return nil
}

// refreshToken exchanges a refresh token for a new access token and a new
// refresh token of the same family (rotation); the one presented stops
// working. Presented again, it is taken for stolen: its whole family is
// revoked. Errors: invalid_argument, unauthenticated,
// refresh_token_reused.
func (h *handlers) refreshToken(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Cache-Control", "no-store")
	var req contract.RefreshRequest
	if err := rest.DecodeJSON(w, r, &req); err != nil {
		return err
	}
	if err := refreshTokenParam(req.RefreshToken); err != nil {
		return err
	}
	now := h.now()
	var access string
	refresh, refreshExpires, err := h.store.rotateRefresh(r.Context(), req.RefreshToken, now, h.refresh.idle,
		func(userID, role string) error {
			var err error
			access, _, err = h.issuer.Issue(userID, role)
			return err
		})
	if err != nil {
		return refreshFailed(w, r, err)
	}
	return rest.JSON(w, http.StatusOK, h.tokenResponse(access, refresh, refreshExpires.Sub(now)))
}

// refreshFailed logs a detected reuse (the user and the family, never the
// token) and returns err.
func refreshFailed(w http.ResponseWriter, r *http.Request, err error) error {
	var reuse *reuseDetected
	if errors.As(err, &reuse) {
		requestctx.LoggerFromContext(r.Context()).WarnContext(r.Context(),
			"a rotated refresh token was presented again: its family is revoked",
			slog.String("user_id", reuse.userID), slog.String("family_id", reuse.familyID))
		// problem.Write challenges only unauthenticated answers; every
		// 401 must.
		w.Header().Set("WWW-Authenticate", `Bearer realm="bff-gateway"`)
	}
	return err
}

// revokeBody is contract.RevokeRequest as sent, telling a field given
// empty or false from one left out.
type revokeBody struct {
	RefreshToken *string `json:"refresh_token"`
	All          *bool   `json:"all"`
}

// decodeRevoke reads and checks a revoke request: exactly one of
// refresh_token and "all": true.
func decodeRevoke(w http.ResponseWriter, r *http.Request) (contract.RevokeRequest, error) {
	var body revokeBody
	if err := rest.DecodeJSON(w, r, &body); err != nil {
		return contract.RevokeRequest{}, err
	}
	switch {
	case body.RefreshToken != nil && body.All != nil:
		return contract.RevokeRequest{}, apperr.InvalidParam("all", "give either refresh_token or all, not both")
	case body.All != nil && !*body.All:
		return contract.RevokeRequest{}, apperr.InvalidParam("all", "all must be true when given")
	case body.All != nil:
		return contract.RevokeRequest{All: true}, nil
	case body.RefreshToken == nil:
		return contract.RevokeRequest{}, apperr.InvalidParam("refresh_token", "give refresh_token, or all: true with a bearer token")
	}
	if err := refreshTokenParam(*body.RefreshToken); err != nil {
		return contract.RevokeRequest{}, err
	}
	return contract.RevokeRequest{RefreshToken: *body.RefreshToken}, nil
}

// revoke ends sign-ins: the family of one refresh token (sign-out; with
// a bearer token too, the refresh token must be the caller's), or with
// "all" and a bearer token every live family of the caller (sign-out
// everywhere). Access tokens already issued stay valid until they expire.
// Errors: invalid_argument, unauthenticated, forbidden,
// refresh_token_reused.
func (h *handlers) revoke(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Cache-Control", "no-store")
	req, err := decodeRevoke(w, r)
	if err != nil {
		return err
	}
	p, signedIn := auth.PrincipalFromContext(r.Context())
	if req.All {
		if !signedIn {
			return apperr.New(apperr.Unauthenticated, "revoking every refresh token needs a bearer token")
		}
		n, err := h.store.revokeAll(r.Context(), p.Subject, h.now())
		if err != nil {
			return err
		}
		requestctx.LoggerFromContext(r.Context()).InfoContext(r.Context(), "revoked every refresh token of a user",
			slog.String("user_id", p.Subject), slog.Int("families", n))
		return rest.JSON(w, http.StatusOK, contract.RevokeResponse{Revoked: n})
	}
	if err := h.store.revokeByToken(r.Context(), req.RefreshToken, p.Subject, h.now()); err != nil {
		return refreshFailed(w, r, err)
	}
	return rest.JSON(w, http.StatusOK, contract.RevokeResponse{Revoked: 1})
}

// jwks publishes the public signing keys.
func (h *handlers) jwks(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Cache-Control", "public, max-age=300")
	return rest.JSON(w, http.StatusOK, h.keys.PublicJWKS())
}

// getUser returns one user: a customer only themselves (anyone else is
// not_found), an admin anyone. Errors: invalid_argument, unauthenticated,
// not_found.
func (h *handlers) getUser(w http.ResponseWriter, r *http.Request) error {
	p, err := auth.RequirePrincipal(r.Context())
	if err != nil {
		return err
	}
	id, err := rest.PathID(r, "id", ids.ValidUser)
	if err != nil {
		return err
	}
	if !p.IsAdmin() && id != p.Subject {
		return apperr.New(apperr.NotFound, "user not found")
	}
	u, err := h.store.byID(r.Context(), id)
	if err != nil {
		return err
	}
	return rest.JSON(w, http.StatusOK, u)
}

// batchUsers returns the users asked for by ?ids= in the order asked, with
// the ids not found (or not visible to a customer) in missing.
// Errors: invalid_argument, unauthenticated.
func (h *handlers) batchUsers(w http.ResponseWriter, r *http.Request) error {
	p, err := auth.RequirePrincipal(r.Context())
	if err != nil {
		return err
	}
	want, err := rest.IDsParam(r, "ids", ids.ValidUser)
	if err != nil {
		return err
	}
	visible := want
	if !p.IsAdmin() {
		visible = nil
		for _, id := range want {
			if id == p.Subject {
				visible = append(visible, id)
			}
		}
	}
	found := map[string]contract.User{}
	if len(visible) > 0 {
		if found, err = h.store.byIDs(r.Context(), visible); err != nil {
			return err
		}
	}
	var out contract.UserBatch
	out.Users, out.Missing = contract.InOrder(want, found)
	return rest.JSON(w, http.StatusOK, out)
}

// countUsers returns the number of users. Admin only.
// Errors: unauthenticated, forbidden.
func (h *handlers) countUsers(w http.ResponseWriter, r *http.Request) error {
	if _, err := auth.RequireAdmin(r.Context()); err != nil {
		return err
	}
	n, err := h.store.count(r.Context())
	if err != nil {
		return err
	}
	return rest.JSON(w, http.StatusOK, contract.Count{Count: n})
}

// RotateKeysPath is the admin endpoint that rotates the signing key.
const RotateKeysPath = "/v1/admin/keys/rotate"

// KeyRotation is the answer to a key rotation.
type KeyRotation struct {
	// ActiveKID is the id of the key that signs now: the previous key
	// until ActivatesAt, unless the service's KEY_PREPUBLISH is 0.
	ActiveKID string `json:"active_kid"`
	// NextKID is the id of the key the rotation made, published at once;
	// it signs from ActivatesAt (when KEY_PREPUBLISH is 0 that is now,
	// and it is ActiveKID).
	NextKID     string    `json:"next_kid"`
	ActivatesAt time.Time `json:"activates_at"`
	// KIDs are the ids of every key published in the JWKS, newest (the
	// next one) first.
	KIDs []string `json:"kids"`
}

// rotateKeys makes a new signing key, publishes it in the JWKS at once and
// lets it sign KEY_PREPUBLISH later, so that the verifiers (services and
// BFFs) have fetched it before they meet a token it signed. A key made by
// an earlier rotation that has not signed yet is replaced. Tokens signed
// before keep verifying: retired keys stay published until their
// successor has signed for twice the token lifetime, then they are
// dropped. Admin only. Errors: unauthenticated, forbidden.
func (h *handlers) rotateKeys(w http.ResponseWriter, r *http.Request) error {
	p, err := auth.RequireAdmin(r.Context())
	if err != nil {
		return err
	}
	rot, err := h.keys.ScheduleRotation(h.prepublish, 2*h.issuer.TTL)
	if err != nil {
		return apperr.Wrap(apperr.Internal, "could not rotate the signing key", err)
	}
	requestctx.LoggerFromContext(r.Context()).InfoContext(r.Context(), "rotated the signing key",
		slog.String("by", p.Subject), slog.String("active_kid", rot.Keys.Active),
		slog.String("next_kid", rot.New), slog.Time("activates_at", rot.ActivatesAt),
		slog.Any("kids", rot.Keys.All), slog.Any("pruned_kids", rot.Pruned))
	w.Header().Set("Cache-Control", "no-store")
	return rest.JSON(w, http.StatusOK, KeyRotation{
		ActiveKID: rot.Keys.Active, NextKID: rot.New, ActivatesAt: rot.ActivatesAt, KIDs: rot.Keys.All,
	})
}
