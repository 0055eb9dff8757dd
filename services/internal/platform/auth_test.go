package platform_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/acme/bff-gateway/internal/auth"
	"github.com/acme/bff-gateway/services/internal/platform"
)

// countingKeys is a KeySource that counts lookups.
type countingKeys struct {
	auth.KeySource
	n atomic.Int32
}

func (c *countingKeys) VerificationKey(ctx context.Context, kid string) (jose.JSONWebKey, error) {
	c.n.Add(1)
	return c.KeySource.VerificationKey(ctx, kid)
}

func newKeySet(t *testing.T) *auth.KeySet {
	t.Helper()
	ks, err := auth.LoadOrCreateKeySet(filepath.Join(t.TempDir(), "keys.json"))
	if err != nil {
		t.Fatal(err)
	}
	return ks
}

func TestAuthenticatePutsTheVerifiedPrincipalInTheContext(t *testing.T) {
	ks := newKeySet(t)
	v := auth.NewVerifier(ks, auth.DefaultIssuer, auth.DefaultAudience)
	tok, _, err := (&auth.Issuer{Keys: ks, Issuer: auth.DefaultIssuer, Audience: auth.DefaultAudience, TTL: time.Minute}).
		Issue("usr_0123456789abcdef", "admin")
	if err != nil {
		t.Fatal(err)
	}
	var got auth.Principal
	var anonymous bool
	h := platform.Authenticate(v)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, anonymous = auth.PrincipalFromContext(r.Context())
		anonymous = !anonymous
	}))
	for header, want := range map[string]int{"": 200, "Bearer " + tok: 200, "Bearer not-a-token": 401, "Basic abc": 401} {
		got, anonymous = auth.Principal{}, false
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, "/v1/users/x", nil)
		if header != "" {
			req.Header.Set("Authorization", header)
		}
		h.ServeHTTP(rec, req)
		if rec.Code != want {
			t.Errorf("%.20q: status %d, want %d", header, rec.Code, want)
		}
		switch {
		case header == "" && !anonymous:
			t.Errorf("no header: the request must go on anonymous, got %+v", got)
		case strings.HasSuffix(header, tok) && (got.Subject != "usr_0123456789abcdef" || !got.IsAdmin() || got.Token != tok):
			t.Errorf("a valid token: principal %+v", got)
		}
		if want == 401 && rec.Header().Get("WWW-Authenticate") == "" {
			t.Errorf("%.20q: a 401 without WWW-Authenticate", header)
		}
	}
}

func TestAuthenticateRefusesOversizedAuthorizationUnparsed(t *testing.T) {
	keys := &countingKeys{KeySource: newKeySet(t)}
	called := false
	h := platform.Authenticate(auth.NewVerifier(keys, auth.DefaultIssuer, auth.DefaultAudience))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		called = true
	}))
	// 16 KiB: a header that looks like a JWT with a kid, so that any
	// parsing would reach the key source.
	big := "Bearer eyJhbGciOiJSUzI1NiIsImtpZCI6Im5vcGUifQ." + strings.Repeat("A", 16<<10) + ".sig"
	for name, header := range map[string]string{
		"16 KiB bearer":          big,
		"just over the limit":    "Bearer " + strings.Repeat("a", auth.MaxAuthorizationBytes),
		"16 KiB of another kind": "Basic " + strings.Repeat("a", 16<<10),
	} {
		t.Run(name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			req := httptest.NewRequest(http.MethodGet, "/v1/users/x", nil)
			req.Header.Set("Authorization", header)
			start := time.Now()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusUnauthorized {
				t.Errorf("status %d, want 401", rec.Code)
			}
			if d := time.Since(start); d > time.Second {
				t.Errorf("took %v", d)
			}
			if len(rec.Body.Bytes()) > 1024 {
				t.Errorf("the answer is %d bytes: it must not echo the header", rec.Body.Len())
			}
		})
	}
	if called || keys.n.Load() != 0 {
		t.Errorf("an oversized header reached the handler (%v) or the key source (%d lookups)", called, keys.n.Load())
	}
}

func TestRequireServiceToken(t *testing.T) {
	h := platform.RequireServiceToken("secret-service-token")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}))
	for header, want := range map[string]int{
		"":                            401,
		"Bearer wrong":                403,
		"Bearer secret-service-token": 204,
		"Basic secret-service-token":  401,
	} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, "/internal/x", nil)
		if header != "" {
			req.Header.Set("Authorization", header)
		}
		h.ServeHTTP(rec, req)
		if rec.Code != want {
			t.Errorf("%q: status %d, want %d", header, rec.Code, want)
		}
	}
}
