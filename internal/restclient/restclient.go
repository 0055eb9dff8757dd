// Package restclient is the JSON-over-HTTP client core used to call the
// services: it builds escaped URLs, sends credentials, decodes answers and
// turns problem answers and transport failures into coded errors.
package restclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/acme/bff-gateway/internal/apperr"
	"github.com/acme/bff-gateway/internal/auth"
	"github.com/acme/bff-gateway/internal/middleware"
	"github.com/acme/bff-gateway/internal/problem"
	"github.com/acme/bff-gateway/internal/requestctx"
)

// MaxResponseBytes bounds an answer read from a service.
const MaxResponseBytes = 8 << 20

// Client calls one service.
type Client struct {
	base    *url.URL
	service string
	http    *http.Client
	// Token returns the bearer credential for a call, or "" for none.
	token func(ctx context.Context) string
	// callTimeout bounds a whole call, answer read included; 0 is none.
	callTimeout time.Duration
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
	c := &Client{base: u, service: service, http: http.DefaultClient, token: PrincipalToken}
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
// transport failure Unavailable; a deadline (the caller's or the call
// timeout) Timeout; a cancelled context its context error.
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
	body := io.LimitReader(resp.Body, MaxResponseBytes)
	defer func() {
		// Reading to the end lets the connection be reused; an answer
		// left unread (a decoder stops after the value) closes it.
		_, _ = io.Copy(io.Discard, body)
		resp.Body.Close()
	}()
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		if out == nil {
			return nil
		}
		if err := json.NewDecoder(body).Decode(out); err != nil {
			if ctx.Err() != nil {
				return c.transportError(ctx, err)
			}
			return apperr.Wrap(apperr.Unavailable, c.service+" service sent an unreadable answer", err)
		}
		return nil
	}
	return c.problemError(resp.StatusCode, body)
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

func (c *Client) problemError(status int, body io.Reader) error {
	var p problem.Problem
	if err := json.NewDecoder(body).Decode(&p); err != nil || p.Code == "" {
		code := apperr.CodeForStatus(status)
		return apperr.Errorf(code, "%s service answered %d", c.service, status)
	}
	p.Status = status
	return p.AsError()
}
