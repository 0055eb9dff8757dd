package upstream

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/acme/bff-gateway/internal/apperr"
	"github.com/acme/bff-gateway/internal/bufpool"
	"github.com/acme/bff-gateway/internal/contract"
)

// RetrySettings configure the retries of each service's calls; the BFF's
// configuration (upstream.retry_*, internal/bff/config) holds their
// defaults. The zero value never retries.
type RetrySettings struct {
	// Attempts is how many times a call that may be retried is tried in
	// all; 1 or less never retries.
	Attempts int
	// Backoff is the longest wait before the first retry, doubled for
	// each further one up to MaxBackoff; the wait is drawn at random
	// below it (full jitter).
	Backoff, MaxBackoff time.Duration
	// BudgetRatio is the retries each call of a service pays for, and
	// MinPerSecond the retries a second the service gets whatever its
	// traffic (see the package documentation).
	BudgetRatio, MinPerSecond float64
	// OnRetry, when set, is called with the service and the reason
	// (RetryConnection, RetryStatus502, …) before each retry.
	OnRetry func(service, reason string)
	// OnCall, when set, is called with the service and the outcome
	// (CallOK, CallRetriedOK, …) of each call, retries included. A call
	// refused by the service's open breaker never gets here.
	OnCall func(service, outcome string)
	// Now is the budget's clock; nil means time.Now.
	Now func() time.Time
}

// Why a call is retried: the label values of the retries.
const (
	// RetryConnection: no answer came (connection refused or reset, or
	// closed before the answer), or the answer broke off before its end.
	RetryConnection = "connection"
	RetryStatus502  = "status_502"
	RetryStatus503  = "status_503"
	RetryStatus504  = "status_504"
	// RetryStatus429: the service asked to come back after Retry-After.
	RetryStatus429 = "status_429"
	// RetryInProgress: a placement's idempotency key is still being
	// answered (409 idempotency_in_progress).
	RetryInProgress = "in_progress"
)

// RetryReasons are every reason a call is retried.
var RetryReasons = []string{RetryConnection, RetryStatus502, RetryStatus503, RetryStatus504, RetryStatus429, RetryInProgress}

// What became of a call, retries included: the label values of the calls.
const (
	// CallOK: answered at the first try (any answer but a 5xx or a 429).
	CallOK = "ok"
	// CallRetriedOK: answered so after one retry or more.
	CallRetriedOK = "retried_ok"
	// CallFailed: no answer, or a 5xx or a 429, not retried (further):
	// not a call that may be retried, or out of tries or of time.
	CallFailed = "failed"
	// CallBudgetExhausted: failed, and not retried for the service's
	// retry budget was spent.
	CallBudgetExhausted = "budget_exhausted"
	// CallCancelled: its caller went away.
	CallCancelled = "cancelled"
)

// CallOutcomes are every outcome of a call.
var CallOutcomes = []string{CallOK, CallRetriedOK, CallFailed, CallBudgetExhausted, CallCancelled}

const (
	// maxPeekBytes bounds what is read of a 409 answer to tell whether it
	// is idempotency_in_progress.
	maxPeekBytes = 16 << 10
	// maxDiscardBytes is what is read of an answer that is retried before
	// it is closed, for its connection to be reused.
	maxDiscardBytes = 16 << 10
)

// retryTransport retries one service's calls that may be retried (see
// the package documentation). It goes under the service's breaker, which
// sees what the retries ended in.
type retryTransport struct {
	service string
	next    http.RoundTripper
	s       RetrySettings
	budget  *retryBudget
	// readAhead bounds the answer of a call read before it is handed
	// over while a retry is still possible, so that a connection lost in
	// its middle is retried; beyond it the answer is handed over as it
	// comes.
	readAhead int64
}

func newRetryTransport(service string, s RetrySettings, readAhead int64, next http.RoundTripper) *retryTransport {
	return &retryTransport{
		service:   service,
		next:      next,
		s:         s,
		budget:    newRetryBudget(s.BudgetRatio, s.MinPerSecond, s.Now),
		readAhead: readAhead,
	}
}

// retrySafe marks a context whose call may be sent again although its
// method is not safe: the call's effect happens once however often it is
// sent (a placement under its idempotency key, a cancellation).
type retrySafeKey struct{}

// attempts, in a call's context, learns whether the call was retried.
type attempts struct{ retried atomic.Bool }

// withRetrySafe marks ctx's call as safe to send again, and returns what
// tells, once the call is over, whether it was.
func withRetrySafe(ctx context.Context) (context.Context, *attempts) {
	a := &attempts{}
	return context.WithValue(ctx, retrySafeKey{}, a), a
}

// mayRetry reports whether req may be sent again: a GET or HEAD, or a
// call marked safe, whose body can be sent again.
func mayRetry(req *http.Request) bool {
	if req.Body != nil && req.Body != http.NoBody && req.GetBody == nil {
		return false
	}
	switch req.Method {
	case http.MethodGet, http.MethodHead:
		return true
	}
	_, marked := req.Context().Value(retrySafeKey{}).(*attempts)
	return marked
}

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	t.budget.deposit()
	if t.s.Attempts <= 1 || !mayRetry(req) {
		resp, err := t.next.RoundTrip(req)
		t.finished(req, 1, resp, err, false)
		return resp, err
	}
	ctx := req.Context()
	marked, _ := ctx.Value(retrySafeKey{}).(*attempts)
	r := req
	for attempt := 1; ; attempt++ {
		resp, err := t.next.RoundTrip(r)
		reason, after := t.whyRetry(r, resp, err)
		if reason == "" && err == nil && attempt < t.s.Attempts {
			// The answer to hand over: read first, so that one broken
			// off is retried rather than handed over unreadable.
			if resp, err = t.readAnswer(resp); err != nil {
				reason, after = t.whyRetry(r, nil, err)
			}
		}
		if reason == "" {
			t.finished(req, attempt, resp, err, false)
			return resp, err
		}
		wait := max(after, t.backoff(attempt))
		if attempt >= t.s.Attempts || !fits(ctx, wait) {
			t.finished(req, attempt, resp, err, false)
			return resp, err
		}
		if !t.budget.withdraw() {
			t.finished(req, attempt, resp, err, true)
			return resp, err
		}
		if t.s.OnRetry != nil {
			t.s.OnRetry(t.service, reason)
		}
		if marked != nil {
			marked.retried.Store(true)
		}
		trace.SpanFromContext(ctx).AddEvent("retry", trace.WithAttributes(
			attribute.Int("attempt", attempt+1), attribute.String("reason", reason),
			attribute.Int64("wait_ms", wait.Milliseconds())))
		if resp != nil {
			_, _ = io.CopyN(io.Discard, resp.Body, maxDiscardBytes)
			_ = resp.Body.Close()
		}
		if err := sleep(ctx, wait); err != nil {
			t.finished(req, attempt, nil, err, false)
			return nil, err
		}
		if r, err = again(req); err != nil {
			t.finished(req, attempt, nil, err, false)
			return nil, err
		}
	}
}

// again returns a copy of req to send once more, with its body anew.
func again(req *http.Request) (*http.Request, error) {
	r := req.Clone(req.Context())
	if req.Body != nil && req.Body != http.NoBody {
		body, err := req.GetBody()
		if err != nil {
			return nil, err
		}
		r.Body = body
	}
	return r, nil
}

// finished reports a call's outcome.
func (t *retryTransport) finished(req *http.Request, tries int, resp *http.Response, err error, budgetSpent bool) {
	if t.s.OnCall == nil {
		return
	}
	outcome := CallFailed
	switch {
	case budgetSpent:
		outcome = CallBudgetExhausted
	case err != nil && (errors.Is(err, context.Canceled) || errors.Is(req.Context().Err(), context.Canceled)):
		outcome = CallCancelled
	case err != nil || resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
	case tries > 1:
		outcome = CallRetriedOK
	default:
		outcome = CallOK
	}
	t.s.OnCall(t.service, outcome)
}

// whyRetry returns why the outcome of a try calls for another ("" when it
// does not), and how long the service asked to wait first.
func (t *retryTransport) whyRetry(req *http.Request, resp *http.Response, err error) (reason string, after time.Duration) {
	if err != nil {
		if req.Context().Err() == nil && connectionLost(err) {
			return RetryConnection, 0
		}
		return "", 0
	}
	switch resp.StatusCode {
	case http.StatusBadGateway:
		return RetryStatus502, 0
	case http.StatusServiceUnavailable:
		return RetryStatus503, 0
	case http.StatusGatewayTimeout:
		return RetryStatus504, 0
	case http.StatusTooManyRequests:
		// Without a Retry-After there is no telling when to come back:
		// the 429 is the answer. With one too long for the deadline, the
		// caller's fits check refuses the retry.
		if after, ok := retryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
			return RetryStatus429, after
		}
	case http.StatusConflict:
		if req.Header.Get(contract.IdempotencyKeyHeader) != "" && inProgress(resp) {
			return RetryInProgress, 0
		}
	}
	return "", 0
}

// connectionLost reports whether err says the connection failed before
// or while the answer came, rather than the caller or the request.
func connectionLost(err error) bool {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, syscall.EPIPE) {
		return true
	}
	if _, ok := apperr.As(err); ok {
		return false
	}
	var opErr *net.OpError
	// net/http's error for a pooled connection the service had closed
	// has no sentinel of its own.
	return errors.As(err, &opErr) || strings.Contains(err.Error(), "server closed idle connection")
}

// inProgress reads the start of a 409 answer and reports whether it is
// idempotency_in_progress; the answer can still be read whole.
func inProgress(resp *http.Response) bool {
	head, err := io.ReadAll(io.LimitReader(resp.Body, maxPeekBytes))
	resp.Body = readCloser{io.MultiReader(bytes.NewReader(head), resp.Body), resp.Body}
	if err != nil {
		return false
	}
	var p struct {
		Code apperr.Code `json:"code"`
	}
	return json.Unmarshal(head, &p) == nil && p.Code == apperr.IdempotencyInProgress
}

// readAnswer reads an answer of up to readAhead bytes before it is handed
// over, so that a connection lost in its middle is retried. A longer
// answer is handed over as it comes (the client refuses it). What was read
// is held in a pooled buffer (bufpool), given back when the body is
// closed: a buffer grown anew for every answer cost its size twice over
// (a sixth of what a BFF allocated for a list of 100 orders).
func (t *retryTransport) readAnswer(resp *http.Response) (*http.Response, error) {
	if t.readAhead <= 0 {
		return resp, nil
	}
	buf := bufpool.Get()
	n, err := buf.ReadFrom(io.LimitReader(resp.Body, t.readAhead+1))
	if err != nil {
		bufpool.Put(buf)
		_ = resp.Body.Close()
		return nil, err
	}
	if n > t.readAhead {
		resp.Body = &readAheadBody{buf: buf, rest: resp.Body}
		return resp, nil
	}
	_ = resp.Body.Close()
	resp.Body = &readAheadBody{buf: buf}
	return resp, nil
}

// readAheadBody is an answer's body read ahead into buf, followed by rest
// (nil when buf holds all of it). Close gives buf back to the pool; a read
// after Close fails, as the body of an answer does.
type readAheadBody struct {
	mu   sync.Mutex
	buf  *bytes.Buffer
	rest io.ReadCloser
}

func (b *readAheadBody) Read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buf == nil {
		return 0, http.ErrBodyReadAfterClose
	}
	if b.buf.Len() > 0 || b.rest == nil {
		return b.buf.Read(p)
	}
	return b.rest.Read(p)
}

func (b *readAheadBody) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buf == nil {
		return nil
	}
	bufpool.Put(b.buf)
	b.buf = nil
	if b.rest != nil {
		return b.rest.Close()
	}
	return nil
}

type readCloser struct {
	io.Reader
	io.Closer
}

// backoff is the wait before retry number n (n from 1): drawn at random
// below Backoff·2ⁿ⁻¹, at most MaxBackoff (full jitter).
func (t *retryTransport) backoff(n int) time.Duration {
	ceiling, most := t.s.Backoff, max(t.s.MaxBackoff, t.s.Backoff)
	for i := 1; i < n && ceiling < most; i++ {
		ceiling *= 2
	}
	ceiling = min(ceiling, most)
	if ceiling <= 0 {
		return 0
	}
	return rand.N(ceiling + 1)
}

// fits reports whether waiting d leaves ctx time to try again.
func fits(ctx context.Context, d time.Duration) bool {
	deadline, ok := ctx.Deadline()
	return !ok || time.Now().Add(d).Before(deadline)
}

// sleep waits d, or until ctx is done (its error).
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// retryAfter reads a Retry-After header, in seconds or an HTTP date.
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	if s, err := strconv.ParseInt(v, 10, 64); err == nil {
		if s < 0 || s > int64(24*time.Hour/time.Second) {
			return 0, false
		}
		return time.Duration(s) * time.Second, true
	}
	at, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return max(at.Sub(now), 0), true
}

// CloseIdleConnections passes on to the next transport.
func (t *retryTransport) CloseIdleConnections() {
	if c, ok := t.next.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}
