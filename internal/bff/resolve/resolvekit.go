// Package resolvekit is what the resolvers of both BFFs share: reading
// page sizes, the viewer, products through the request's loaders and the
// shared catalogue, signing in, and prefetching what a list of orders
// refers to so that it goes upstream in one batch.
package resolve

import (
	"context"
	"time"

	"github.com/acme/bff-gateway/graph/model"
	"github.com/acme/bff-gateway/internal/apperr"
	"github.com/acme/bff-gateway/internal/auth"
	"github.com/acme/bff-gateway/internal/bff/catalog"
	"github.com/acme/bff-gateway/internal/bff/loader"
	"github.com/acme/bff-gateway/internal/bff/ratelimit"
	"github.com/acme/bff-gateway/internal/bff/upstream"
	"github.com/acme/bff-gateway/internal/contract"
	"github.com/acme/bff-gateway/internal/ids"
)

// PageSize reads a page-size argument: def when absent, else 1 to max. It
// returns BAD_USER_INPUT naming the argument.
func PageSize(arg *int, name string, def, max int) (int, error) {
	if arg == nil {
		return def, nil
	}
	if *arg < 1 || *arg > max {
		return 0, apperr.InvalidParam(name, "%s must be from 1 to %d", name, max)
	}
	return *arg, nil
}

// Deref returns *s, or "" for nil.
func Deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// Viewer returns the signed-in user: UNAUTHENTICATED without a session.
func Viewer(ctx context.Context) (*model.User, error) {
	p, err := auth.RequirePrincipal(ctx)
	if err != nil {
		return nil, err
	}
	return User(ctx, p.Subject)
}

// User loads a user through the request's loader, with the caller's own
// credential (so a customer can load only themselves).
func User(ctx context.Context, id string) (*model.User, error) {
	u, err := loader.For(ctx).Users.Load(ctx, id)()
	if err != nil {
		return nil, err
	}
	return model.UserFromAPI(*u), nil
}

// Product loads a product of the catalogue; an unknown or malformed id is
// NOT_FOUND.
func Product(ctx context.Context, id string) (*model.Product, error) {
	if !ids.ValidProduct(id) {
		return nil, apperr.New(apperr.NotFound, "product not found")
	}
	p, err := loader.For(ctx).Products.Load(ctx, id)()
	if err != nil {
		return nil, err
	}
	return model.ProductFromAPI(*p), nil
}

// Featured returns n featured products from the shared catalogue, noting
// stale copies in the response's extensions.
func Featured(ctx context.Context, cat *catalog.Catalog, n int) ([]*model.Product, error) {
	list, stale, err := cat.Featured(ctx, n)
	if err != nil {
		return nil, err
	}
	out := make([]*model.Product, len(list))
	for i, p := range list {
		if stale {
			loader.For(ctx).MarkStale(p.ID)
		}
		out[i] = model.ProductFromAPI(p)
	}
	return out, nil
}

// Orders converts orders and starts loading, in one batch each, the
// products of their items and, when customers is set, their customers.
func Orders(ctx context.Context, list []contract.Order, customers bool) []*model.Order {
	out := make([]*model.Order, len(list))
	var productIDs, userIDs []string
	for i, o := range list {
		out[i] = model.OrderFromAPI(o)
		for _, it := range o.Items {
			productIDs = append(productIDs, it.ProductID)
		}
		userIDs = append(userIDs, o.UserID)
	}
	l := loader.For(ctx)
	l.PrefetchProducts(ctx, productIDs)
	if customers {
		l.PrefetchUsers(ctx, userIDs)
	}
	return out
}

// Order returns one order visible to the caller; anyone else's, an unknown
// or a malformed id is NOT_FOUND.
func Order(ctx context.Context, orders *upstream.Orders, id string, customer bool) (*model.Order, error) {
	if _, err := auth.RequirePrincipal(ctx); err != nil {
		return nil, err
	}
	if !ids.ValidOrder(id) {
		return nil, apperr.New(apperr.NotFound, "order not found")
	}
	o, err := orders.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	return Orders(ctx, []contract.Order{o}, customer)[0], nil
}

// SignedIn is the outcome of a sign-in.
type SignedIn struct {
	Principal auth.Principal
	ExpiresAt time.Time
	User      *model.User
}

// SignIn exchanges credentials for a token at the user service, verifies
// it and loads the user with it. Wrong or malformed credentials are
// UNAUTHENTICATED, with one message whatever was wrong.
//
// logins, when not nil, limits attempts per address and per account before
// anything is sent: over the limit it returns RATE_LIMITED.
func SignIn(ctx context.Context, users *upstream.Users, v *auth.Verifier, logins *ratelimit.LoginLimiter, now time.Time, email, password string) (SignedIn, error) {
	if logins != nil {
		if _, err := logins.Allow(ctx, ratelimit.ClientIPFromContext(ctx), email); err != nil {
			return SignedIn{}, err
		}
	}
	tok, err := users.Token(ctx, email, password)
	if err != nil {
		if apperr.Is(err, apperr.Unauthenticated) || apperr.Is(err, apperr.Invalid) {
			return SignedIn{}, apperr.New(apperr.Unauthenticated, "invalid email or password")
		}
		return SignedIn{}, err
	}
	p, err := v.Verify(ctx, tok.AccessToken)
	if err != nil {
		return SignedIn{}, err
	}
	u, err := users.Get(auth.NewContextWithPrincipal(ctx, p), p.Subject)
	if err != nil {
		return SignedIn{}, err
	}
	return SignedIn{
		Principal: p,
		ExpiresAt: now.Add(time.Duration(tok.ExpiresIn) * time.Second),
		User:      model.UserFromAPI(u),
	}, nil
}
