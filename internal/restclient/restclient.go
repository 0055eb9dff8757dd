// Package restclient is the JSON-over-HTTP client core used to call the
// services: it builds escaped URLs, sends credentials, decodes answers and
// turns problem answers and transport failures into coded errors.
//
// An answer is read with bounded memory and time. A body over the
// client's bound (WithMaxAnswerBytes, DefaultMaxAnswerBytes) is refused
// while it is read, never truncated; a 2xx answer that is not JSON (an
// HTML page from a proxy) is refused without being decoded; malformed or
// truncated JSON, or anything but white space after the value, is
// refused: all Unavailable, with a message that names the service only. A
// body that comes slower than the call's deadline is Timeout, returned at
// the deadline. A problem answer (4xx, 5xx) is read up to 64 KiB; a 429 is
// Unavailable (a service turning this process away is an outage to its
// callers, not their own rate limit).
package restclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	jsonv2 "github.com/go-json-experiment/json"

	"github.com/acme/bff-gateway/internal/apperr"
	"github.com/acme/bff-gateway/internal/auth"
	"github.com/acme/bff-gateway/internal/bufpool"
	"github.com/acme/bff-gateway/internal/middleware"
	"github.com/acme/bff-gateway/internal/problem"
	"github.com/acme/bff-gateway/internal/requestctx"
)

// DefaultMaxAnswerBytes bounds the body of an answer read from a service
// when the client is not given WithMaxAnswerBytes.
const DefaultMaxAnswerBytes = 4 << 20

const (
	// maxProblemBytes bounds the body of a problem answer (4xx, 5xx): a
	// longer one is not a problem this client can read.
	maxProblemBytes = 64 << 10
	// maxDrainBytes is how much of an answer left unread is read before
	// it is closed, so that its connection can be reused; beyond that,
	// closing the connection is cheaper.
	maxDrainBytes = 64 << 10
)

// Client calls one service.
type Client struct {
	base    *url.URL
	service string
	http    *http.Client
	// Token returns the bearer credential for a call, or "" for none.
	token func(ctx context.Context) string
	// callTimeout bounds a whole call, answer read included; 0 is none.
	callTimeout time.Duration
	// maxAnswer bounds the body of a 2xx answer.
	maxAnswer int64
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient sets the HTTP client (its transport carries breakers,
// timeouts and instrumentation).
func WithHTTPClient(h *http.Client) Option { return func(c *Client) { c.http = h } }

// WithToken sets how the bearer credential of a call is found.
func WithToken(f func(ctx context.Context) string) Option { return func(c *Client) { c.token = f } }

// WithStaticToken sends the same credential on every call.
func WithStaticToken(token string) Option {
	return WithToken(func(context.Context) string { return token })
}

// WithCallTimeout bounds every call, from sending the request to decoding
// the answer, to d; a call that runs out of time fails with Timeout. The
// caller's own deadline still applies when it is shorter. d <= 0 means no
// bound of the client's own.
func WithCallTimeout(d time.Duration) Option { return func(c *Client) { c.callTimeout = d } }

// WithMaxAnswerBytes bounds the body of an answer to n bytes: a longer one
// is refused (Unavailable) as soon as its byte n+1 is read. n <= 0 keeps
// DefaultMaxAnswerBytes.
func WithMaxAnswerBytes(n int64) Option {
	return func(c *Client) {
		if n > 0 {
			c.maxAnswer = n
		}
	}
}

// PrincipalToken forwards the caller's own token from the context.
func PrincipalToken(ctx context.Context) string {
	p, _ := auth.PrincipalFromContext(ctx)
	return p.Token
}

// New returns a client of the service named service at baseURL. By default
// it forwards the caller's token from the context.
func New(service, baseURL string, opts ...Option) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(baseURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%s service url %q: want http(s)://host[:port]", service, baseURL)
	}
	c := &Client{base: u, service: service, http: http.DefaultClient, token: PrincipalToken, maxAnswer: DefaultMaxAnswerBytes}
	for _, o := range opts {
		o(c)
	}
	return c, nil
}

// Path joins escaped segments into a path: Path("v1", "orders", id) is
// "/v1/orders/<id escaped>". Any "/", "?", "#", "%" or control character in a
// segment is escaped, so a segment can never change the request sent.
func Path(segments ...string) string {
	var b strings.Builder
	for _, s := range segments {
		b.WriteByte('/')
		b.WriteString(url.PathEscape(s))
	}
	return b.String()
}

// Request describes one call.
type Request struct {
	Method string
	Path   string // built with Path
	Query  url.Values
	Header http.Header
	Body   any
}

// Do sends req and decodes a 2xx JSON answer into out (when not nil). A
// problem answer becomes an *apperr.Error with the service's code; a
// transport failure, or an answer that is too large, not JSON or not
// readable, Unavailable; a deadline (the caller's or the call timeout)
// Timeout; a cancelled context its context error.
func (c *Client) Do(ctx context.Context, req Request, out any) error {
	if c.callTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.callTimeout)
		defer cancel()
	}
	httpReq, err := c.newRequest(ctx, req)
	if err != nil {
		return err
	}
	resp, err := c.http.Do(httpReq)
	if err != nil {
		return c.transportError(ctx, err)
	}
	defer func() {
		// Reading what is left, up to maxDrainBytes, lets the connection
		// be reused; beyond that, closing it is cheaper.
		_, _ = io.CopyN(io.Discard, resp.Body, maxDrainBytes)
		_ = resp.Body.Close()
	}()
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		if out == nil {
			return nil
		}
		if !isJSON(resp.Header.Get("Content-Type")) {
			return apperr.New(apperr.Unavailable, c.service+" service sent an answer that is not JSON")
		}
		return c.decode(ctx, resp.Body, out)
	}
	return c.problemError(ctx, resp.StatusCode, resp.Body)
}

// decode reads one JSON value, and nothing but white space after it, from
// body into out, never more than the client's bound. The answer is read
// whole into a buffer reused from call to call (json.Decoder grew a new
// one each time: a list of 100 orders cost 200 KB), which nothing decoded
// refers to afterwards (strings and json.RawMessage are copies).
//
// It decodes with encoding/json/v2 (jsonv2: the Go team's mirror of it
// for Go 1.26, where it is an experiment; stable in Go 1.27): twice as
// fast as encoding/json on a page of 100 orders, a tenth of a BFF's CPU
// for AdminOverview. Its defaults are stricter, and right for answers the
// services write from the same contract types: names match exactly
// (encoding/json also took "ID" for "id"), a member named twice, or
// invalid UTF-8, make the answer unreadable rather than guessed at.
func (c *Client) decode(ctx context.Context, body io.ReadCloser, out any) error {
	buf := bufpool.Get()
	defer bufpool.Put(buf)
	_, err := buf.ReadFrom(bounded(body, c.maxAnswer))
	if err == nil {
		// A second value, or garbage, after the first is an error: the
		// answer is not what it claims.
		err = jsonv2.Unmarshal(buf.Bytes(), out)
	}
	if err == nil {
		return nil
	}
	switch {
	case tooLarge(err):
		return apperr.Wrap(apperr.Unavailable, c.service+" service sent an answer too large to read", err)
	case ctx.Err() != nil:
		return c.transportError(ctx, err)
	}
	return apperr.Wrap(apperr.Unavailable, c.service+" service sent an unreadable answer", err)
}

// bounded reads up to n bytes of body and fails with *http.MaxBytesError
// if it has even one byte more: an answer is refused, never cut short.
// (No ResponseWriter: this is a client reading an answer.)
func bounded(body io.ReadCloser, n int64) io.Reader { return http.MaxBytesReader(nil, body, n) }

// tooLarge reports whether err is bounded's refusal.
func tooLarge(err error) bool {
	_, ok := errors.AsType[*http.MaxBytesError](err)
	return ok
}

// isJSON reports whether a Content-Type is JSON: application/json or a
// +json type (application/problem+json).
func isJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	return mt == "application/json" || (strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json"))
}

func (c *Client) newRequest(ctx context.Context, req Request) (*http.Request, error) {
	target := c.base.String() + req.Path
	if len(req.Query) > 0 {
		target += "?" + req.Query.Encode()
	}
	var body io.Reader
	if req.Body != nil {
		b, err := json.Marshal(req.Body)
		if err != nil {
			return nil, fmt.Errorf("encode %s request: %w", c.service, err)
		}
		body = bytes.NewReader(b)
	}
	httpReq, err := http.NewRequestWithContext(ctx, req.Method, target, body)
	if err != nil {
		return nil, fmt.Errorf("build %s request: %w", c.service, err)
	}
	for k, vs := range req.Header {
		for _, v := range vs {
			httpReq.Header.Add(k, v)
		}
	}
	httpReq.Header.Set("Accept", "application/json")
	if body != nil {
		httpReq.Header.Set("Content-Type", "application/json")
	}
	if tok := c.token(ctx); tok != "" {
		httpReq.Header.Set("Authorization", "Bearer "+tok)
	}
	if id := requestctx.RequestIDFromContext(ctx); id != "" {
		httpReq.Header.Set(middleware.RequestIDHeader, id)
	}
	return httpReq, nil
}

func (c *Client) transportError(ctx context.Context, err error) error {
	if e, ok := apperr.As(err); ok {
		return e
	}
	ctxErr := ctx.Err()
	if errors.Is(ctxErr, context.Canceled) {
		return fmt.Errorf("call %s service: %w", c.service, ctxErr)
	}
	if errors.Is(ctxErr, context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) || isTimeout(err) {
		return apperr.Wrap(apperr.Timeout, c.service+" service timed out", err)
	}
	return apperr.Wrap(apperr.Unavailable, c.service+" service unavailable", err)
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

// problemError turns a non-2xx answer into a coded error: the problem's
// own code when the body is a problem of at most maxProblemBytes, else the
// code of the status. A 429 is Unavailable whatever its body: the service
// turns this process away, which says nothing of its own caller's rate. A
// body that does not come before the deadline is Timeout (or the caller's
// cancellation); one that breaks off is Unavailable, its code unknown.
func (c *Client) problemError(ctx context.Context, status int, body io.ReadCloser) error {
	if status == http.StatusTooManyRequests {
		return apperr.Errorf(apperr.Unavailable, "%s service answered %d", c.service, status)
	}
	var p problem.Problem
	err := json.NewDecoder(bounded(body, min(c.maxAnswer, maxProblemBytes))).Decode(&p)
	switch {
	case err != nil && ctx.Err() != nil:
		return c.transportError(ctx, err)
	case err != nil && brokenOff(err):
		return apperr.Wrap(apperr.Unavailable, c.service+" service sent an unreadable answer", err)
	case err != nil || p.Code == "":
		// No body, too long a body, or not a problem (a proxy's page):
		// what the status says.
		code := apperr.CodeForStatus(status)
		return apperr.Errorf(code, "%s service answered %d", c.service, status)
	}
	p.Status = status
	return p.AsError()
}

// brokenOff reports whether a decoding error is a body cut short: it
// ended, or its connection failed, in the middle of the value.
func brokenOff(err error) bool {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	return !errors.Is(err, io.EOF) && !tooLarge(err) && !errors.As(err, &syntax) && !errors.As(err, &typ)
}
