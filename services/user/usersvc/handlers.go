package usersvc

import (
	"log/slog"
	"net/http"

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
	mux.Handle("GET "+auth.JWKSPath, rest.HandlerFunc(h.jwks))
	mux.Handle("GET /v1/users/{id}", authed(rest.HandlerFunc(h.getUser)))
	mux.Handle("GET /v1/users", authed(rest.HandlerFunc(h.batchUsers)))
	mux.Handle("GET /v1/users/count", authed(rest.HandlerFunc(h.countUsers)))
	mux.Handle("POST "+RotateKeysPath, authed(rest.HandlerFunc(h.rotateKeys)))
	return mux
}

// issueToken exchanges an email and password for an access token.
// Errors: invalid_argument, unauthenticated.
func (h *handlers) issueToken(w http.ResponseWriter, r *http.Request) error {
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
	token, _, err := h.issuer.Issue(user.ID, user.Role)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	return rest.JSON(w, http.StatusOK, contract.TokenResponse{
		AccessToken: token,
		TokenType:   "Bearer",
		ExpiresIn:   int(h.issuer.TTL.Seconds()),
	})
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
	// ActiveKID is the id of the key that signs from now on.
	ActiveKID string `json:"active_kid"`
	// KIDs are the ids of every key published in the JWKS, newest first.
	KIDs []string `json:"kids"`
}

// rotateKeys makes a new signing key active. Tokens signed before keep
// verifying: retired keys stay published until they have stopped signing
// for twice the token lifetime, then they are dropped. Admin only.
// Errors: unauthenticated, forbidden.
func (h *handlers) rotateKeys(w http.ResponseWriter, r *http.Request) error {
	p, err := auth.RequireAdmin(r.Context())
	if err != nil {
		return err
	}
	kept, pruned, err := h.keys.RotateAndPrune(2 * h.issuer.TTL)
	if err != nil {
		return apperr.Wrap(apperr.Internal, "could not rotate the signing key", err)
	}
	requestctx.LoggerFromContext(r.Context()).InfoContext(r.Context(), "rotated the signing key",
		slog.String("by", p.Subject), slog.String("active_kid", kept.Active),
		slog.Any("kids", kept.All), slog.Any("pruned_kids", pruned))
	w.Header().Set("Cache-Control", "no-store")
	return rest.JSON(w, http.StatusOK, KeyRotation{ActiveKID: kept.Active, KIDs: kept.All})
}
