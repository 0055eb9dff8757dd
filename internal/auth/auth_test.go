package auth_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"

	"github.com/acme/bff-gateway/internal/apperr"
	"github.com/acme/bff-gateway/internal/auth"
)

const (
	userID = "usr_0123456789abcdef"
	iss    = auth.DefaultIssuer
	aud    = auth.DefaultAudience
)

func newKeySet(t *testing.T) *auth.KeySet {
	t.Helper()
	ks, err := auth.LoadOrCreateKeySet(filepath.Join(t.TempDir(), "keys.json"))
	if err != nil {
		t.Fatal(err)
	}
	return ks
}

func activeKID(t *testing.T, ks *auth.KeySet) string {
	t.Helper()
	return ks.PublicJWKS().Keys[0].KeyID
}

// privateKey reads the active private key back from the key file.
func privateKey(t *testing.T, path string) *rsa.PrivateKey {
	t.Helper()
	newKeySetAt(t, path)
	var file struct {
		Keys []struct {
			JWK jose.JSONWebKey `json:"jwk"`
		} `json:"keys"`
	}
	b := mustRead(t, path)
	if err := json.Unmarshal(b, &file); err != nil {
		t.Fatal(err)
	}
	return file.Keys[0].JWK.Key.(*rsa.PrivateKey)
}

func TestVerifierAcceptsIssuedTokens(t *testing.T) {
	ks := newKeySet(t)
	tok, exp, err := (&auth.Issuer{Keys: ks, Issuer: iss, Audience: aud, TTL: 15 * time.Minute}).Issue(userID, "admin")
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Until(exp); d < 14*time.Minute || d > 15*time.Minute {
		t.Errorf("expiry in %v, want about 15m", d)
	}
	p, err := auth.NewVerifier(ks, iss, aud).Verify(t.Context(), tok)
	if err != nil {
		t.Fatal(err)
	}
	if p.Subject != userID || !p.IsAdmin() || p.Token != tok {
		t.Errorf("principal = %+v", p)
	}
}

func TestVerifierRejectsForgedAndInvalidTokens(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.json")
	priv := privateKey(t, path)
	ks, err := auth.LoadOrCreateKeySet(path)
	if err != nil {
		t.Fatal(err)
	}
	kid := activeKID(t, ks)
	now := time.Now()
	good := func() jwt.MapClaims {
		return jwt.MapClaims{"iss": iss, "aud": aud, "sub": userID, "role": "customer",
			"iat": now.Unix(), "exp": now.Add(time.Minute).Unix()}
	}
	sign := func(m jwt.SigningMethod, key any, claims jwt.MapClaims, kid string) string {
		tok := jwt.NewWithClaims(m, claims)
		if kid != "" {
			tok.Header["kid"] = kid
		}
		s, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	pubDER, _ := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	otherRSA, _ := rsa.GenerateKey(rand.Reader, 2048)
	with := func(k string, v any) jwt.MapClaims { c := good(); c[k] = v; return c }
	without := func(k string) jwt.MapClaims { c := good(); delete(c, k); return c }

	tests := map[string]string{
		"alg none":                sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, good(), kid),
		"HS256 with public key":   sign(jwt.SigningMethodHS256, pubDER, good(), kid),
		"ES256 against RSA key":   sign(jwt.SigningMethodES256, ecKey, good(), kid),
		"RS512 not allowed":       sign(jwt.SigningMethodRS512, priv, good(), kid),
		"signed by another key":   sign(jwt.SigningMethodRS256, otherRSA, good(), kid),
		"unknown kid":             sign(jwt.SigningMethodRS256, priv, good(), "nope"),
		"no kid":                  sign(jwt.SigningMethodRS256, priv, good(), ""),
		"wrong issuer":            sign(jwt.SigningMethodRS256, priv, with("iss", "evil"), kid),
		"missing issuer":          sign(jwt.SigningMethodRS256, priv, without("iss"), kid),
		"wrong audience":          sign(jwt.SigningMethodRS256, priv, with("aud", "other"), kid),
		"missing audience":        sign(jwt.SigningMethodRS256, priv, without("aud"), kid),
		"missing exp":             sign(jwt.SigningMethodRS256, priv, without("exp"), kid),
		"expired beyond leeway":   sign(jwt.SigningMethodRS256, priv, with("exp", now.Add(-time.Minute).Unix()), kid),
		"nbf beyond leeway":       sign(jwt.SigningMethodRS256, priv, with("nbf", now.Add(time.Minute).Unix()), kid),
		"bad role":                sign(jwt.SigningMethodRS256, priv, with("role", "root"), kid),
		"malformed subject":       sign(jwt.SigningMethodRS256, priv, with("sub", "../admin"), kid),
		"garbage":                 "a.b.c",
		"jku header not followed": signWithHeader(t, priv, good(), kid, "jku", "http://127.0.0.1:1/jwks.json"),
	}
	v := auth.NewVerifier(ks, iss, aud)
	for name, tok := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := v.Verify(t.Context(), tok)
			if name == "jku header not followed" {
				// jku is ignored: the token is checked against our own keys
				// only, and since it is genuinely signed by them it passes.
				if err != nil {
					t.Fatalf("a jku header must be ignored, not followed: %v", err)
				}
				return
			}
			if !apperr.Is(err, apperr.Unauthenticated) {
				t.Fatalf("Verify = %v, want unauthenticated", err)
			}
		})
	}

	// Within the 30 s leeway, exp and nbf still pass.
	for name, claims := range map[string]jwt.MapClaims{
		"exp just past":  with("exp", now.Add(-10*time.Second).Unix()),
		"nbf just ahead": with("nbf", now.Add(10*time.Second).Unix()),
	} {
		if _, err := v.Verify(t.Context(), sign(jwt.SigningMethodRS256, priv, claims, kid)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func signWithHeader(t *testing.T, key *rsa.PrivateKey, claims jwt.MapClaims, kid, h, v string) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	tok.Header["kid"] = kid
	tok.Header[h] = v
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestKeySetPersistsAndRotates(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.json")
	ks := newKeySetAt(t, path)
	issuer := &auth.Issuer{Keys: ks, Issuer: iss, Audience: aud, TTL: time.Minute}
	oldTok, _, _ := issuer.Issue(userID, "customer")
	oldKID := activeKID(t, ks)

	reloaded := newKeySetAt(t, path)
	if activeKID(t, reloaded) != oldKID {
		t.Fatal("reloading the key file changed the active key")
	}
	if err := reloaded.Rotate(); err != nil {
		t.Fatal(err)
	}
	if activeKID(t, reloaded) == oldKID || len(reloaded.PublicJWKS().Keys) != 2 {
		t.Fatalf("rotation: keys %v", reloaded.PublicJWKS().Keys)
	}
	v := auth.NewVerifier(reloaded, iss, aud)
	if _, err := v.Verify(t.Context(), oldTok); err != nil {
		t.Errorf("a token signed before rotation must stay valid: %v", err)
	}
	newTok, _, _ := (&auth.Issuer{Keys: reloaded, Issuer: iss, Audience: aud, TTL: time.Minute}).Issue(userID, "customer")
	if _, err := v.Verify(t.Context(), newTok); err != nil {
		t.Errorf("new token: %v", err)
	}
	for _, k := range reloaded.PublicJWKS().Keys {
		if !k.IsPublic() {
			t.Errorf("JWKS publishes a private key %s", k.KeyID)
		}
	}
}

func newKeySetAt(t *testing.T, path string) *auth.KeySet {
	t.Helper()
	ks, err := auth.LoadOrCreateKeySet(path)
	if err != nil {
		t.Fatal(err)
	}
	return ks
}

func TestRemoteKeysCachesAndLimitsRefreshes(t *testing.T) {
	ks := newKeySet(t)
	var fetches atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		_ = json.NewEncoder(w).Encode(ks.PublicJWKS())
	}))
	defer srv.Close()
	remote := auth.NewRemoteKeys(auth.RemoteKeysConfig{URL: srv.URL, MinRefreshGap: time.Hour})
	v := auth.NewVerifier(remote, iss, aud)
	issuer := &auth.Issuer{Keys: ks, Issuer: iss, Audience: aud, TTL: time.Minute}
	tok, _, _ := issuer.Issue(userID, "customer")
	for range 20 {
		if _, err := v.Verify(t.Context(), tok); err != nil {
			t.Fatal(err)
		}
	}
	if n := fetches.Load(); n != 1 {
		t.Errorf("20 verifications fetched the JWKS %d times, want 1", n)
	}
	for i := range 50 {
		if _, err := remote.VerificationKey(t.Context(), "random-"+string(rune('a'+i%26))); err == nil {
			t.Fatal("an unknown kid must not verify")
		}
	}
	if n := fetches.Load(); n != 1 {
		t.Errorf("a flood of unknown kids fetched %d times within the refresh gap, want 1", n)
	}
}

func TestRemoteKeysPicksUpRotation(t *testing.T) {
	ks := newKeySet(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(ks.PublicJWKS())
	}))
	defer srv.Close()
	remote := auth.NewRemoteKeys(auth.RemoteKeysConfig{URL: srv.URL, MinRefreshGap: time.Millisecond})
	v := auth.NewVerifier(remote, iss, aud)
	issuer := &auth.Issuer{Keys: ks, Issuer: iss, Audience: aud, TTL: time.Minute}
	old, _, _ := issuer.Issue(userID, "customer")
	if _, err := v.Verify(t.Context(), old); err != nil {
		t.Fatal(err)
	}
	if err := ks.Rotate(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Millisecond)
	fresh, _, _ := issuer.Issue(userID, "customer")
	if _, err := v.Verify(t.Context(), fresh); err != nil {
		t.Errorf("token with the new kid: %v", err)
	}
	if _, err := v.Verify(t.Context(), old); err != nil {
		t.Errorf("token with the old kid: %v", err)
	}
}

func TestBearerToken(t *testing.T) {
	tests := []struct {
		header, want string
		wantErr      bool
	}{
		{"", "", false},
		{"Bearer abc", "abc", false},
		{"bearer abc", "abc", false},
		{"Basic abc", "", true},
		{"Bearer ", "", true},
		{"Bearer", "", true},
		{"Bearer " + string(make([]byte, auth.MaxAuthorizationBytes)), "", true},
	}
	for _, tt := range tests {
		got, err := auth.BearerToken(tt.header)
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("BearerToken(%.20q) = %q, %v", tt.header, got, err)
		}
	}
}

func TestRemoteKeysColdStartUnderConcurrency(t *testing.T) {
	ks := newKeySet(t)
	var fetches atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		time.Sleep(50 * time.Millisecond) // a slow first fetch
		_ = json.NewEncoder(w).Encode(ks.PublicJWKS())
	}))
	defer srv.Close()
	v := auth.NewVerifier(auth.NewRemoteKeys(auth.RemoteKeysConfig{URL: srv.URL}), iss, aud)
	tok, _, _ := (&auth.Issuer{Keys: ks, Issuer: iss, Audience: aud, TTL: time.Minute}).Issue(userID, "customer")
	errs := make(chan error, 30)
	for range 30 {
		go func() { _, err := v.Verify(t.Context(), tok); errs <- err }()
	}
	for range 30 {
		if err := <-errs; err != nil {
			t.Errorf("a request arriving during the first fetch was refused: %v", err)
		}
	}
	if n := fetches.Load(); n != 1 {
		t.Errorf("%d fetches, want 1 shared", n)
	}
}

// TestRemoteKeysCountFailedFetches checks Fetches and Failures: a set that
// cannot be fetched is a failure, and the keys known before still verify.
func TestRemoteKeysCountFailedFetches(t *testing.T) {
	ks := newKeySet(t)
	var down atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		_ = json.NewEncoder(w).Encode(ks.PublicJWKS())
	}))
	defer srv.Close()
	keys := auth.NewRemoteKeys(auth.RemoteKeysConfig{URL: srv.URL, RefreshInterval: time.Nanosecond, MinRefreshGap: time.Nanosecond})
	kid := ks.IDs().Active
	if _, err := keys.VerificationKey(t.Context(), kid); err != nil {
		t.Fatal(err)
	}
	down.Store(true)
	time.Sleep(time.Millisecond) // past the refresh interval and gap
	if _, err := keys.VerificationKey(t.Context(), kid); err != nil {
		t.Errorf("a known key after a failed refresh: %v", err)
	}
	if keys.Fetches() != 2 || keys.Failures() != 1 {
		t.Errorf("Fetches %d, Failures %d; want 2 and 1", keys.Fetches(), keys.Failures())
	}
}
