// Package breaker is a circuit breaker for calls to one downstream service,
// as an http.RoundTripper decorator around sony/gobreaker. Use one
// Transport per downstream service per process, shared by all its calls.
//
// A transport error or a 5xx answer is a failure; any other answer is a
// success; a call whose context was cancelled by its caller counts as
// neither. After Settings.ConsecutiveFailures failures in a row the breaker
// opens: calls fail at once with apperr.Unavailable, without being sent,
// until Settings.OpenTimeout has passed. Then it is half-open: up to
// Settings.MaxRequests probe calls go through; as many successes close it,
// one failure opens it again.
package breaker

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/sony/gobreaker/v2"

	"github.com/acme/bff-gateway/internal/apperr"
)

// State is the state of a breaker.
type State string

// The states of a breaker.
const (
	StateClosed   State = "closed"
	StateHalfOpen State = "half-open"
	StateOpen     State = "open"
)

// Settings configure a breaker. Every number must be positive (New
// checks): the BFF's configuration (internal/bff/config) holds their
// defaults.
type Settings struct {
	// MaxRequests is how many probe calls may run while half-open, and
	// how many successes in a row close the breaker again.
	MaxRequests uint32
	// Interval is how often the failure counts are cleared while closed.
	// It must not be 0: gobreaker would then never clear them.
	Interval time.Duration
	// OpenTimeout is how long the breaker stays open before it lets a
	// probe through.
	OpenTimeout time.Duration
	// ConsecutiveFailures is how many failures in a row open the breaker.
	ConsecutiveFailures uint32
	// OnStateChange, when set, is called with the breaker's name and the
	// old and new state ("closed", "half-open", "open") on every change.
	// It runs while the breaker is locked: it must be quick and must not
	// call the Transport.
	OnStateChange func(name, from, to string)
}

// validate reports every setting that is not positive.
func (s Settings) validate() error {
	var errs []error
	if s.MaxRequests == 0 {
		errs = append(errs, errors.New("breaker: MaxRequests must be positive"))
	}
	if s.Interval <= 0 {
		errs = append(errs, errors.New("breaker: Interval must be positive"))
	}
	if s.OpenTimeout <= 0 {
		errs = append(errs, errors.New("breaker: OpenTimeout must be positive"))
	}
	if s.ConsecutiveFailures == 0 {
		errs = append(errs, errors.New("breaker: ConsecutiveFailures must be positive"))
	}
	return errors.Join(errs...)
}

// Transport is an http.RoundTripper that sends calls through a circuit
// breaker to the next RoundTripper.
type Transport struct {
	name string
	next http.RoundTripper
	cb   *gobreaker.TwoStepCircuitBreaker[struct{}]
}

var _ http.RoundTripper = (*Transport)(nil)

// The outcomes reported to gobreaker besides a transport error.
var (
	errServerError = errors.New("server error answer")
	errCancelled   = errors.New("call cancelled by its caller")
	errPanicked    = errors.New("round trip panicked")
)

// New returns a breaker named name (the downstream service, used in errors
// and state changes) in front of next (http.DefaultTransport when nil). It
// returns an error when a setting is not positive.
func New(name string, s Settings, next http.RoundTripper) (*Transport, error) {
	if err := s.validate(); err != nil {
		return nil, err
	}
	if next == nil {
		next = http.DefaultTransport
	}
	threshold := s.ConsecutiveFailures
	gs := gobreaker.Settings{
		Name:        name,
		MaxRequests: s.MaxRequests,
		Interval:    s.Interval,
		Timeout:     s.OpenTimeout,
		ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= threshold },
		IsExcluded:  func(err error) bool { return errors.Is(err, errCancelled) },
	}
	if f := s.OnStateChange; f != nil {
		gs.OnStateChange = func(name string, from, to gobreaker.State) {
			f(name, string(stateOf(from)), string(stateOf(to)))
		}
	}
	return &Transport{name: name, next: next, cb: gobreaker.NewTwoStepCircuitBreaker[struct{}](gs)}, nil
}

// Name returns the breaker's name.
func (t *Transport) Name() string { return t.name }

// State returns the breaker's current state.
func (t *Transport) State() State { return stateOf(t.cb.State()) }

func stateOf(s gobreaker.State) State {
	switch s {
	case gobreaker.StateOpen:
		return StateOpen
	case gobreaker.StateHalfOpen:
		return StateHalfOpen
	default:
		return StateClosed
	}
}

// RoundTrip sends req to the next RoundTripper when the breaker allows it,
// and returns its answer and error unchanged: a 5xx answer counts as a
// failure but is still returned, so that its problem body can be read.
// When the breaker is open, or half-open with every probe taken, it sends
// nothing and returns an *apperr.Error with code Unavailable wrapping
// gobreaker.ErrOpenState or gobreaker.ErrTooManyRequests (see Rejected).
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	done, err := t.cb.Allow()
	if err != nil {
		if req.Body != nil {
			_ = req.Body.Close()
		}
		return nil, apperr.Wrap(apperr.Unavailable, t.name+" service unavailable (circuit open)", err)
	}
	reported := false
	defer func() {
		if !reported { // next panicked: free the slot, count a failure
			done(errPanicked)
		}
	}()
	resp, err := t.next.RoundTrip(req)
	reported = true
	done(outcome(req, resp, err))
	return resp, err
}

// outcome is what a round trip tells the breaker: nil for a success,
// errCancelled to leave it out, any other error for a failure.
func outcome(req *http.Request, resp *http.Response, err error) error {
	switch {
	case err != nil && (errors.Is(err, context.Canceled) || errors.Is(req.Context().Err(), context.Canceled)):
		return errCancelled
	case err != nil:
		return err
	case resp.StatusCode >= 500:
		return errServerError
	}
	return nil
}

// Rejected reports whether err is (or wraps) a breaker's refusal to send a
// call, as opposed to a failure of a call that was sent.
func Rejected(err error) bool {
	return errors.Is(err, gobreaker.ErrOpenState) || errors.Is(err, gobreaker.ErrTooManyRequests)
}

// CloseIdleConnections closes the idle connections of the next
// RoundTripper, when it has any (http.Client.CloseIdleConnections calls it).
func (t *Transport) CloseIdleConnections() {
	if c, ok := t.next.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}
