package upstream

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/acme/bff-gateway/internal/contract"
	"github.com/acme/bff-gateway/internal/telemetry"

	"github.com/acme/bff-gateway/internal/apperr"
	"github.com/acme/bff-gateway/internal/bff/breaker"
	"github.com/acme/bff-gateway/internal/restclient"
)

// Config configures the clients of the user, order and product services.
type Config struct {
	// UserURL, OrderURL and ProductURL are the services' base URLs,
	// http(s)://host[:port].
	UserURL, OrderURL, ProductURL string
	// Transport is the base transport under the breakers. When nil, a
	// clone of http.DefaultTransport keeping up to 64 idle connections per
	// service is used.
	Transport http.RoundTripper
	// Breaker configures the breaker of each service.
	Breaker breaker.Settings
	// Telemetry, when set, measures and traces every call (above the
	// breaker, so that its refusals are counted apart).
	Telemetry *telemetry.Telemetry
	// CallTimeout bounds each call, answer read included, retries and
	// their waits included; it must be positive.
	CallTimeout time.Duration
	// MaxAnswerBytes bounds the body of every answer: a longer one is
	// refused while it is read (restclient.WithMaxAnswerBytes). 0 keeps
	// restclient.DefaultMaxAnswerBytes.
	MaxAnswerBytes int64
	// Retry configures the retries of each service's calls, under its
	// breaker, each service with a budget of its own. The zero value never
	// retries.
	Retry RetrySettings
}

// ServiceNames are the services' names, as their breakers, metrics and
// errors give them.
func ServiceNames() []string { return []string{"user", "order", "product"} }

// Set is the clients of the three services, each service behind its own
// breaker and retry budget shared by all its calls.
type Set struct {
	Users    *Users
	Orders   *Orders
	Products *Products
	// Breakers are the breakers of the user, order and product services,
	// in that order, for readiness and metrics.
	Breakers []*breaker.Transport
}

// New builds the clients. It reports every configuration error at once.
func New(cfg Config) (*Set, error) {
	base := cfg.Transport
	if base == nil {
		base = defaultTransport()
	}
	timeout := cfg.CallTimeout
	maxAnswer := cfg.MaxAnswerBytes
	if maxAnswer <= 0 {
		maxAnswer = restclient.DefaultMaxAnswerBytes
	}
	var errs []error
	if timeout <= 0 {
		errs = append(errs, fmt.Errorf("clients: the call timeout must be positive, not %s", timeout))
	}
	build := func(service, url string) (bt *breaker.Transport, authed, public *restclient.Client) {
		// restclient → telemetry → breaker → counted → retries → base: the
		// breaker sees what the retries ended in, and refuses a call
		// before any try when open; the span and the duration cover
		// the call with its retries.
		retries := newRetryTransport(service, cfg.Retry, maxAnswer, base)
		bt, err := breaker.New(service, cfg.Breaker, countedTransport{retries})
		if err != nil {
			errs = append(errs, fmt.Errorf("clients: %s: %w", service, err))
			return nil, nil, nil
		}
		var rt http.RoundTripper = bt
		if cfg.Telemetry != nil {
			rt = cfg.Telemetry.Client(service, bt, breaker.Rejected)
		}
		hc := &http.Client{
			Transport: rt,
			// The services never redirect; a redirect is an answer to
			// report, not to follow with the caller's credential.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
		authed, err = restclient.New(service, url, restclient.WithHTTPClient(hc), restclient.WithMaxAnswerBytes(maxAnswer),
			restclient.WithCallTimeout(timeout), restclient.WithToken(restclient.PrincipalToken))
		if err != nil {
			errs = append(errs, fmt.Errorf("clients: %w", err))
			return bt, nil, nil
		}
		public, _ = restclient.New(service, url, restclient.WithHTTPClient(hc), restclient.WithMaxAnswerBytes(maxAnswer),
			restclient.WithCallTimeout(timeout), restclient.WithToken(noToken))
		return bt, authed, public
	}
	userBT, userAuthed, userPublic := build("user", cfg.UserURL)
	orderBT, orderAuthed, _ := build("order", cfg.OrderURL)
	productBT, productAuthed, productPublic := build("product", cfg.ProductURL)
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return &Set{
		Users:    &Users{authed: userAuthed, public: userPublic},
		Orders:   &Orders{c: orderAuthed},
		Products: &Products{authed: productAuthed, public: productPublic},
		Breakers: []*breaker.Transport{userBT, orderBT, productBT},
	}, nil
}

// CloseIdleConnections closes the idle connections of the base transport.
func (s *Set) CloseIdleConnections() {
	for _, b := range s.Breakers {
		b.CloseIdleConnections()
	}
}

func defaultTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 3 * 64
	t.MaxIdleConnsPerHost = 64
	return t
}

func noToken(context.Context) string { return "" }

// splitIDs returns the well-formed ids in the order given without repeats,
// and the malformed ones, which no service could know. A batch with more
// than contract.MaxBatchIDs well-formed ids is Invalid.
func splitIDs(ids []string, valid func(string) bool) (good, malformed []string, err error) {
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		if valid(id) {
			good = append(good, id)
		} else {
			malformed = append(malformed, id)
		}
	}
	if len(good) > contract.MaxBatchIDs {
		return nil, nil, apperr.InvalidParam("ids", "a batch may ask for at most %d ids, not %d", contract.MaxBatchIDs, len(good))
	}
	return good, malformed, nil
}

// malformedID is the error of a single read or change of an id no service
// could know; it matches what the service would answer, without a call.
func malformedID(kind string) error {
	return apperr.InvalidParam("id", "malformed %s id", kind)
}

// room is an empty slice with room for n elements, n bounded by the
// contract's largest page or batch (contract.MaxPageSize,
// contract.MaxBatchIDs): an answer of known length decodes into it without
// the copies of a slice grown by doubling. A length out of those bounds
// (the service refuses it) gets no room.
func room[T any](n int) []T {
	if n <= 0 || n > max(contract.MaxPageSize, contract.MaxBatchIDs) {
		return nil
	}
	return make([]T, 0, n)
}

// orEmpty returns s, or an empty slice for nil, so that answers always
// carry JSON-like empty lists.
func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
