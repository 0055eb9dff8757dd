package restclient_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/acme/bff-gateway/internal/apperr"
	"github.com/acme/bff-gateway/internal/auth"
	"github.com/acme/bff-gateway/internal/problem"
	"github.com/acme/bff-gateway/internal/requestctx"
	"github.com/acme/bff-gateway/internal/restclient"
)

func TestPathCannotChangeTheRequest(t *testing.T) {
	var gotPath, gotQuery string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotPath, gotQuery = r.URL.EscapedPath(), r.URL.RawQuery
		_, _ = w.Write([]byte(`{}`))
	}))
	defer srv.Close()
	c, err := restclient.New("order", srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"../admin", "a%2Fb", "x?admin=1", "y#frag", "z\r\nHost: evil"} {
		err := c.Do(context.Background(), restclient.Request{Method: "GET", Path: restclient.Path("v1", "orders", id)}, nil)
		if err != nil {
			t.Fatalf("%q: %v", id, err)
		}
		if gotQuery != "" {
			t.Errorf("%q changed the query: %q", id, gotQuery)
		}
		if want := restclient.Path("v1", "orders", id); gotPath != want {
			t.Errorf("%q: path sent %q, want %q", id, gotPath, want)
		}
	}
}

func TestProblemsBecomeCodedErrors(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/problem":
			w.Header().Set("Content-Type", problem.ContentType)
			w.WriteHeader(http.StatusConflict)
			_ = json.NewEncoder(w).Encode(map[string]any{"type": "x", "title": "Conflict", "status": 409,
				"code": "insufficient_stock", "detail": "short", "shortages": []any{map[string]any{"product_id": "prd_a"}}})
		case "/bare":
			w.WriteHeader(http.StatusBadGateway)
		case "/slow":
			time.Sleep(200 * time.Millisecond)
		case "/auth":
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(map[string]string{"auth": r.Header.Get("Authorization"), "rid": r.Header.Get("X-Request-ID")})
		}
	}))
	defer srv.Close()
	c, _ := restclient.New("product", srv.URL)
	ctx := context.Background()

	err := c.Do(ctx, restclient.Request{Method: "GET", Path: "/problem"}, nil)
	e, ok := apperr.As(err)
	if !ok || e.Code != apperr.InsufficientStock || e.Details["shortages"] == nil {
		t.Errorf("problem: %v (%+v)", err, e)
	}
	if err := c.Do(ctx, restclient.Request{Method: "GET", Path: "/bare"}, nil); !apperr.Is(err, apperr.Unavailable) {
		t.Errorf("bare 502: %v", err)
	}
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if err := c.Do(short, restclient.Request{Method: "GET", Path: "/slow"}, nil); !apperr.Is(err, apperr.Timeout) {
		t.Errorf("deadline: %v", err)
	}
	cancelled, cancelNow := context.WithCancel(ctx)
	cancelNow()
	if err := c.Do(cancelled, restclient.Request{Method: "GET", Path: "/slow"}, nil); apperr.Is(err, apperr.Unavailable) || err == nil {
		t.Errorf("a cancelled call must not look like an outage: %v", err)
	}
	down, _ := restclient.New("user", "http://127.0.0.1:1")
	if err := down.Do(ctx, restclient.Request{Method: "GET", Path: "/"}, nil); !apperr.Is(err, apperr.Unavailable) {
		t.Errorf("connection refused: %v", err)
	}

	pctx := requestctx.NewContextWithRequestID(auth.NewContextWithPrincipal(ctx, auth.Principal{Token: "tok"}), "rid-1")
	var got map[string]string
	if err := c.Do(pctx, restclient.Request{Method: "GET", Path: "/auth"}, &got); err != nil {
		t.Fatal(err)
	}
	if got["auth"] != "Bearer tok" || got["rid"] != "rid-1" {
		t.Errorf("forwarded %v, want the caller's token and request id", got)
	}
	if err == nil {
		if _, err := restclient.New("x", "ftp://host"); err == nil {
			t.Error("a non-http base URL must be refused")
		}
	}
}
