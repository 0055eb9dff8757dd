package auth_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/acme/bff-gateway/internal/apperr"
	"github.com/acme/bff-gateway/internal/auth"
)

// ageKeys rewrites the key file at path so that the key with id kid was
// made at the given time, and reloads the set. It writes the file as it
// was before keys were pre-published (no activates_at: each key signed
// from when it was made), so the tests using it also load that format.
func ageKeys(t *testing.T, path string, made map[string]time.Time) *auth.KeySet {
	t.Helper()
	var file struct {
		Active string `json:"active"`
		Keys   []struct {
			JWK       json.RawMessage `json:"jwk"`
			CreatedAt time.Time       `json:"created_at"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(mustRead(t, path), &file); err != nil {
		t.Fatal(err)
	}
	for i, k := range file.Keys {
		var jwk struct {
			KID string `json:"kid"`
		}
		if err := json.Unmarshal(k.JWK, &jwk); err != nil {
			t.Fatal(err)
		}
		if at, ok := made[jwk.KID]; ok {
			file.Keys[i].CreatedAt = at.UTC()
		}
	}
	b, err := json.Marshal(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return newKeySetAt(t, path)
}

func TestRotateAndPruneDropsOnlyKeysRetiredLongAgo(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.json")
	ks := newKeySetAt(t, path)
	issue := func(ks *auth.KeySet) string {
		t.Helper()
		tok, _, err := (&auth.Issuer{Keys: ks, Issuer: iss, Audience: aud, TTL: time.Hour}).Issue(userID, "customer")
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	a := ks.IDs().Active
	tokA := issue(ks)
	if err := ks.Rotate(); err != nil {
		t.Fatal(err)
	}
	b := ks.IDs().Active
	tokB := issue(ks)
	if err := ks.Rotate(); err != nil {
		t.Fatal(err)
	}
	c := ks.IDs().Active
	if got := ks.IDs().All; !slices.Equal(got, []string{c, b, a}) {
		t.Fatalf("kept %v, want newest first %v", got, []string{c, b, a})
	}

	// a signed until b was made 3 h ago; b until c was made 10 min ago.
	now := time.Now()
	ks = ageKeys(t, path, map[string]time.Time{
		a: now.Add(-5 * time.Hour), b: now.Add(-3 * time.Hour), c: now.Add(-10 * time.Minute),
	})
	kept, pruned, err := ks.RotateAndPrune(time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	d := kept.Active
	if d == c || !slices.Equal(kept.All, []string{d, c, b}) || !slices.Equal(pruned, []string{a}) {
		t.Fatalf("kept %v (active %s), pruned %v; want [new %s %s] and [%s]", kept.All, d, pruned, c, b, a)
	}
	if got := newKeySetAt(t, path).IDs(); !slices.Equal(got.All, kept.All) || got.Active != d {
		t.Errorf("the pruned set was not saved: reloaded %+v", got)
	}
	var published []string
	for _, k := range ks.PublicJWKS().Keys {
		published = append(published, k.KeyID)
	}
	if !slices.Equal(published, kept.All) {
		t.Errorf("JWKS lists %v, want %v", published, kept.All)
	}

	v := auth.NewVerifier(ks, iss, aud)
	if _, err := v.Verify(t.Context(), tokB); err != nil {
		t.Errorf("a token of a recently retired key must stay valid: %v", err)
	}
	if _, err := v.Verify(t.Context(), tokA); !apperr.Is(err, apperr.Unauthenticated) {
		t.Errorf("a token of a pruned key: %v, want unauthenticated", err)
	}

	// retain <= 0 keeps every key, however old.
	ks = ageKeys(t, path, map[string]time.Time{b: now.Add(-48 * time.Hour), c: now.Add(-47 * time.Hour), d: now.Add(-46 * time.Hour)})
	kept, pruned, err = ks.RotateAndPrune(0)
	if err != nil || len(pruned) != 0 || len(kept.All) != 4 {
		t.Errorf("RotateAndPrune(0) kept %v, pruned %v, err %v; want all 4 kept", kept.All, pruned, err)
	}
}

func TestRemoteKeysKeyIDs(t *testing.T) {
	ks := newKeySet(t)
	if err := ks.Rotate(); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(ks.PublicJWKS())
	}))
	defer srv.Close()
	remote := auth.NewRemoteKeys(auth.RemoteKeysConfig{URL: srv.URL})
	if ids := remote.KeyIDs(); len(ids) != 0 {
		t.Errorf("before any fetch: %v", ids)
	}
	if _, err := remote.VerificationKey(t.Context(), ks.IDs().Active); err != nil {
		t.Fatal(err)
	}
	if got, want := remote.KeyIDs(), slices.Sorted(slices.Values(ks.IDs().All)); !slices.Equal(got, want) {
		t.Errorf("KeyIDs = %v, want %v", got, want)
	}
}

func TestRotateKeepsAtMostMaxKeys(t *testing.T) {
	ks := newKeySet(t)
	var made []string
	for range auth.MaxKeys + 2 {
		made = append(made, ks.IDs().Active)
		if err := ks.Rotate(); err != nil {
			t.Fatal(err)
		}
	}
	made = append(made, ks.IDs().Active)
	slices.Reverse(made)
	if got := ks.IDs().All; !slices.Equal(got, made[:auth.MaxKeys]) {
		t.Errorf("kept %v, want the %d newest %v", got, auth.MaxKeys, made[:auth.MaxKeys])
	}
	b, _ := json.Marshal(ks.PublicJWKS())
	if len(b) > 64<<10 {
		t.Errorf("a full JWKS is %d bytes", len(b))
	}
}
