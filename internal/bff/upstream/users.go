package upstream

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/acme/bff-gateway/internal/contract"
	"github.com/acme/bff-gateway/internal/ids"
	"github.com/acme/bff-gateway/internal/restclient"
)

// Users is the client of the user service. Calls forward the caller's own
// bearer token from the context (auth.Principal), except Token.
//
// Besides the codes listed on each method, every call can fail with
// Unavailable (service down, 5xx, unreadable answer, or its breaker open),
// Timeout (the call timeout or the caller's deadline), or the context's
// error when the caller cancelled.
type Users struct {
	authed, public *restclient.Client
}

// Token exchanges an email and password for an access token; no credential
// is sent. It returns Unauthenticated for a wrong email or password and
// Invalid for a malformed request.
func (u *Users) Token(ctx context.Context, email, password string) (contract.TokenResponse, error) {
	var out contract.TokenResponse
	err := u.public.Do(ctx, restclient.Request{
		Method: http.MethodPost,
		Path:   restclient.Path("v1", "auth", "token"),
		Body:   contract.TokenRequest{Email: email, Password: password},
	}, &out)
	return out, err
}

// Refresh exchanges a refresh token for a new access token and a new
// refresh token (the one given stops working); no credential but the
// refresh token is sent. It returns Unauthenticated for an unknown,
// expired or revoked refresh token, and RefreshTokenReused (its family is
// then revoked) for one already used.
func (u *Users) Refresh(ctx context.Context, refreshToken string) (contract.TokenResponse, error) {
	var out contract.TokenResponse
	err := u.public.Do(ctx, restclient.Request{
		Method: http.MethodPost,
		Path:   restclient.Path("v1", "auth", "refresh"),
		Body:   contract.RefreshRequest{RefreshToken: refreshToken},
	}, &out)
	return out, err
}

// Revoke ends the family of a refresh token (sign-out). It returns
// Unauthenticated when the family is unknown, expired or already revoked.
func (u *Users) Revoke(ctx context.Context, refreshToken string) error {
	var out contract.RevokeResponse
	return u.public.Do(ctx, restclient.Request{
		Method: http.MethodPost,
		Path:   restclient.Path("v1", "auth", "revoke"),
		Body:   contract.RevokeRequest{RefreshToken: refreshToken},
	}, &out)
}

// RevokeAll ends every refresh family of the caller (sign-out
// everywhere), with the caller's bearer token from the context, and
// returns how many there were. It returns Unauthenticated without a
// valid token.
func (u *Users) RevokeAll(ctx context.Context) (int, error) {
	var out contract.RevokeResponse
	err := u.authed.Do(ctx, restclient.Request{
		Method: http.MethodPost,
		Path:   restclient.Path("v1", "auth", "revoke"),
		Body:   contract.RevokeRequest{All: true},
	}, &out)
	return out.Revoked, err
}

// Get returns one user. It returns NotFound for an unknown user or, for a
// customer, anyone but themselves; Invalid (param "id") for a malformed id,
// without a call; Unauthenticated without a valid token.
func (u *Users) Get(ctx context.Context, id string) (contract.User, error) {
	if !ids.ValidUser(id) {
		return contract.User{}, malformedID("user")
	}
	var out contract.User
	err := u.authed.Do(ctx, restclient.Request{Method: http.MethodGet, Path: restclient.Path("v1", "users", id)}, &out)
	return out, err
}

// Batch returns the users with the given ids in the order asked, repeats
// dropped; ids not found, not visible to a customer, or malformed (those
// are not sent) are listed in Missing. No ids, or only malformed ones,
// answer without a call. It returns Invalid for more than contract.MaxBatchIDs ids
// and Unauthenticated without a valid token.
func (u *Users) Batch(ctx context.Context, userIDs []string) (contract.UserBatch, error) {
	good, malformed, err := splitIDs(userIDs, ids.ValidUser)
	if err != nil {
		return contract.UserBatch{}, err
	}
	out := contract.UserBatch{Users: room[contract.User](len(good))}
	if len(good) > 0 {
		err = u.authed.Do(ctx, restclient.Request{
			Method: http.MethodGet,
			Path:   restclient.Path("v1", "users"),
			Query:  url.Values{"ids": {strings.Join(good, ",")}},
		}, &out)
		if err != nil {
			return contract.UserBatch{}, err
		}
	}
	out.Users = orEmpty(out.Users)
	out.Missing = append(orEmpty(out.Missing), malformed...)
	return out, nil
}

// Count returns the number of users. It returns Forbidden for a caller who
// is not an admin and Unauthenticated without a valid token.
func (u *Users) Count(ctx context.Context) (int, error) {
	var out contract.Count
	err := u.authed.Do(ctx, restclient.Request{Method: http.MethodGet, Path: restclient.Path("v1", "users", "count")}, &out)
	return out.Count, err
}
