package ratelimit

import (
	"context"
	"log/slog"
	"net/netip"
	"strings"

	"github.com/acme/bff-gateway/internal/apperr"
	"github.com/acme/bff-gateway/internal/requestctx"
)

// LoginLimiter limits login attempts per client address and per account,
// to slow password guessing both from one address and against one account
// from many.
type LoginLimiter struct {
	store    Store
	cfg      LoginConfig
	onRefuse func()
}

// OnRefuse has f called on every refused attempt (to count them); it must
// be quick and safe for concurrent use. Call it before the limiter is used.
func (l *LoginLimiter) OnRefuse(f func()) { l.onRefuse = f }

// NewLoginLimiter returns a LoginLimiter over store (which may be the
// operations' store: the keys do not overlap). It panics if cfg is invalid
// (see LoginConfig.Validate) or store is nil.
func NewLoginLimiter(store Store, cfg LoginConfig) *LoginLimiter {
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	if store == nil {
		panic("ratelimit: NewLoginLimiter needs a store")
	}
	return &LoginLimiter{store: store, cfg: cfg}
}

// Allow counts a login attempt from ip for email, and
// reports whether it may go ahead. The login resolvers call it before
// asking the user service to check the password.
//
// It takes one token from "login-ip:<IPKey(ip)>" and then, only if that
// was allowed, one from "login-account:<email, trimmed and lowercased>".
// So an address over its limit spends nothing from the account it is
// trying, and cannot lock a victim out of an account by sheer volume
// beyond its own limit; an attempt refused for the account has still been
// counted against the address, because it was made. An invalid ip skips
// the address bucket (and is logged: the edge did not determine the address); an
// empty email skips the account bucket.
//
// Refused, it returns the refusing bucket's Decision and an *apperr.Error
// with code apperr.RateLimited whose message gives the seconds to wait;
// the caller records the Decision (request.State.Throttle) so that the
// HTTP answer is a 429 with Retry-After. Allowed, it returns the Decision
// with fewer tokens remaining. A store error allows the attempt (fail
// open, as Middleware does) and is logged; Allow never returns it.
func (l *LoginLimiter) Allow(ctx context.Context, ip netip.Addr, email string) (Decision, error) {
	type take struct {
		key   string
		limit Limit
	}
	var takes []take
	if ip.IsValid() {
		takes = append(takes, take{"login-ip:" + IPKey(ip), l.cfg.PerIP})
	} else {
		requestctx.LoggerFromContext(ctx).WarnContext(ctx, "login attempt without a client address; not limited per address")
	}
	if account := strings.ToLower(strings.TrimSpace(email)); account != "" {
		takes = append(takes, take{"login-account:" + account, l.cfg.PerAccount})
	}

	result := Decision{Allowed: true, Remaining: -1}
	for _, t := range takes {
		d, err := l.store.Take(ctx, t.key, 1, t.limit)
		if err != nil {
			requestctx.LoggerFromContext(ctx).WarnContext(ctx, "rate limit store failed; allowing the login attempt",
				slog.String("key", t.key), slog.Any("err", err))
			continue
		}
		if !d.Allowed {
			if l.onRefuse != nil {
				l.onRefuse()
			}
			return d, apperr.Errorf(apperr.RateLimited,
				"too many login attempts; retry after %d seconds", d.RetryAfterSeconds())
		}
		if result.Remaining < 0 || d.Remaining < result.Remaining {
			result = d
		}
	}
	if result.Remaining < 0 {
		result.Remaining = 0
	}
	return result, nil
}
