package authn_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/acme/bff-gateway/internal/auth"
	"github.com/acme/bff-gateway/internal/bff/apikey"
	"github.com/acme/bff-gateway/internal/bff/authn"
	"github.com/acme/bff-gateway/internal/bff/request"
	"github.com/acme/bff-gateway/internal/middleware"
	"github.com/acme/bff-gateway/internal/requestctx"
)

// TestMobileAuthNamesTheKeyButNeverLogsIt: requests without a configured
// key are refused 401; a good key's name reaches the context and the logs,
// the key itself never does.
func TestMobileAuthNamesTheKeyButNeverLogsIt(t *testing.T) {
	const raw = "s3cret-app-key-value"
	keys, err := apikey.NewSet([]apikey.Key{{Name: "ios", SHA256: apikey.Hash(raw)}})
	if err != nil {
		t.Fatal(err)
	}
	ks, err := auth.LoadOrCreateKeySet(filepath.Join(t.TempDir(), "k.json"))
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, nil))
	var client string
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		client = request.App(r.Context())
		requestctx.LoggerFromContext(r.Context()).Info("handled")
	})
	h := middleware.Chain(inner, middleware.RequestID, middleware.AccessLog(logger),
		authn.MobileAuth(keys, auth.NewVerifier(ks, auth.DefaultIssuer, auth.DefaultAudience)))
	for key, want := range map[string]int{"": 401, "wrong": 401, raw: 200, strings.Repeat("k", 300): 401} {
		client = ""
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, "/graphql", nil)
		if key != "" {
			req.Header.Set(authn.APIKeyHeader, key)
		}
		h.ServeHTTP(rec, req)
		if rec.Code != want {
			t.Errorf("key %.10q: status %d, want %d", key, rec.Code, want)
		}
		if want == 401 && !strings.Contains(rec.Body.String(), authn.CodeInvalidAPIKey) {
			t.Errorf("key %.10q: body %s", key, rec.Body)
		}
		if want == 200 && client != "ios" {
			t.Errorf("the key's name in the context is %q, want ios", client)
		}
	}
	if strings.Contains(logs.String(), raw) {
		t.Errorf("the raw key reached the logs:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), `"api_key":"ios"`) {
		t.Errorf("the key's name should be logged:\n%s", logs.String())
	}
}
