package authn_test

import (
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/acme/bff-gateway/internal/auth"
	"github.com/acme/bff-gateway/internal/bff/authn"
	"github.com/acme/bff-gateway/internal/bff/session"
)

// FuzzSessionCookie sends arbitrary Cookie headers through the web session
// middleware: it never panics and nothing but a stored session id signs a
// request in.
func FuzzSessionCookie(f *testing.F) {
	keys, err := auth.LoadOrCreateKeySet(filepath.Join(f.TempDir(), "keys.json"))
	if err != nil {
		f.Fatal(err)
	}
	issuer := &auth.Issuer{Keys: keys, Issuer: auth.DefaultIssuer, Audience: auth.DefaultAudience, TTL: time.Hour}
	tok, exp, err := issuer.Issue("usr_0123456789abcdef", "customer")
	if err != nil {
		f.Fatal(err)
	}
	store := session.NewMemoryStore(10, nil)
	known, err := store.Create(f.Context(), session.Session{Token: tok, UserID: "usr_0123456789abcdef", Role: "customer", ExpiresAt: exp})
	if err != nil {
		f.Fatal(err)
	}
	s := &authn.Sessions{Store: store, Verifier: auth.NewVerifier(keys, auth.DefaultIssuer, auth.DefaultAudience), Cookie: "bff_session", Secure: "auto"}
	for _, seed := range []string{"bff_session=" + known, "bff_session=", "a=b; bff_session=x; c=d", "bff_session=" + strings.Repeat("x", 5000), "=;;=", `bff_session="` + known + `"`, "bff_session=" + known + "x"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, header string) {
		var signedIn bool
		h := s.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, signedIn = auth.PrincipalFromContext(r.Context())
		}))
		r := httptest.NewRequest(http.MethodPost, "/graphql", nil)
		r.Header.Set("Cookie", header)
		h.ServeHTTP(httptest.NewRecorder(), r)
		c, err := r.Cookie("bff_session")
		if signedIn && (err != nil || c.Value != known) {
			t.Fatalf("cookie header %q signed a request in", header)
		}
	})
}
