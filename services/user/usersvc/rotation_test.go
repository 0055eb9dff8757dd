package usersvc_test

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/acme/bff-gateway/internal/auth"
	"github.com/acme/bff-gateway/internal/contract"
	"github.com/acme/bff-gateway/internal/testutil"
	"github.com/acme/bff-gateway/services/servicetest"
	"github.com/acme/bff-gateway/services/user/usersvc"
)

// kidOf returns the kid header of a token.
func kidOf(t *testing.T, token string) string {
	t.Helper()
	var header struct {
		KID string `json:"kid"`
	}
	mustDecodeSegment(t, strings.Split(token, ".")[0], &header)
	return header.KID
}

// jwksKIDs returns the kids the user service publishes, newest first.
func jwksKIDs(t *testing.T, c *http.Client, st *servicetest.Stack) []string {
	t.Helper()
	status, body := testutil.Do(t, c, http.MethodGet, st.User.URL+auth.JWKSPath, "", nil, nil)
	if status != http.StatusOK {
		t.Fatalf("JWKS: status %d: %s", status, body)
	}
	var kids []string
	for _, k := range testutil.MustJSON[jose.JSONWebKeySet](t, body).Keys {
		kids = append(kids, k.KeyID)
	}
	return kids
}

// rotate rotates the signing key with token and returns the answer.
func rotate(t *testing.T, c *http.Client, st *servicetest.Stack, token string) usersvc.KeyRotation {
	t.Helper()
	a := testutil.Call(t, c, http.MethodPost, st.User.URL+usersvc.RotateKeysPath, token, nil, nil)
	if a.Status != http.StatusOK {
		t.Fatalf("rotate: status %d: %s", a.Status, a.Body)
	}
	if cc := a.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("rotate: Cache-Control %q, want no-store", cc)
	}
	return testutil.MustJSON[usersvc.KeyRotation](t, a.Body)
}

func TestRotateKeysIsAdminOnly(t *testing.T) {
	st := servicetest.StartStack(t, servicetest.StackOptions{})
	c := testutil.NewClient(t, usersvc.OpenAPI)
	url := st.User.URL + usersvc.RotateKeysPath
	before := jwksKIDs(t, c, st)

	testutil.WantProblem(t, testutil.Call(t, c, http.MethodPost, url, "", nil, nil), 401, "unauthenticated", "")
	testutil.WantProblem(t, testutil.Call(t, c, http.MethodPost, url, "not.a.token", nil, nil), 401, "unauthenticated", "")
	ada := st.Token(t, "ada@example.com", "ada123")
	testutil.WantProblem(t, testutil.Call(t, c, http.MethodPost, url, ada, nil, nil), 403, "forbidden", "")
	a := testutil.Call(t, c, http.MethodGet, url, st.Token(t, "admin@example.com", "admin123"), nil, nil)
	testutil.WantProblem(t, a, 405, "method_not_allowed", "")

	if after := jwksKIDs(t, c, st); !slices.Equal(before, after) {
		t.Errorf("a refused rotation changed the keys: %v, then %v", before, after)
	}
}

// rotateAtOnce makes a rotation take effect at once, as before keys were
// pre-published: what the tests of retired keys are about.
var rotateAtOnce = servicetest.StackOptions{Env: map[string]string{"KEY_PREPUBLISH": "0s"}}

func TestRotateKeysKeepsOldTokensValid(t *testing.T) {
	st := servicetest.StartStack(t, rotateAtOnce)
	c := testutil.NewClient(t, usersvc.OpenAPI)
	admin := st.Token(t, "admin@example.com", "admin123")
	oldTok := st.Token(t, "ada@example.com", "ada123")
	oldKID := kidOf(t, oldTok)
	if kids := jwksKIDs(t, c, st); !slices.Equal(kids, []string{oldKID}) {
		t.Fatalf("JWKS before rotation lists %v, want [%s]", kids, oldKID)
	}
	// A verifier of another service, which has cached the old set.
	remote := auth.NewRemoteKeys(auth.RemoteKeysConfig{URL: st.User.URL + auth.JWKSPath, MinRefreshGap: time.Millisecond})
	v := auth.NewVerifier(remote, auth.DefaultIssuer, auth.DefaultAudience)
	if _, err := v.Verify(t.Context(), oldTok); err != nil {
		t.Fatal(err)
	}

	rot := rotate(t, c, st, admin)
	if rot.ActiveKID == "" || rot.ActiveKID == oldKID || rot.NextKID != rot.ActiveKID || !slices.Equal(rot.KIDs, []string{rot.ActiveKID, oldKID}) {
		t.Fatalf("rotation answered %+v, want a new active kid and [new, %s]", rot, oldKID)
	}
	if kids := jwksKIDs(t, c, st); !slices.Equal(kids, rot.KIDs) {
		t.Errorf("JWKS after rotation lists %v, want %v", kids, rot.KIDs)
	}

	// A token issued before the rotation is still accepted.
	status, body := testutil.Do(t, c, http.MethodGet, st.User.URL+"/v1/users/"+adaID, oldTok, nil, nil)
	if status != http.StatusOK || testutil.MustJSON[contract.User](t, body).ID != adaID {
		t.Errorf("old token after rotation: status %d: %s", status, body)
	}
	// A new token carries the new kid and is accepted too.
	newTok := st.Token(t, "ada@example.com", "ada123")
	if kid := kidOf(t, newTok); kid != rot.ActiveKID {
		t.Errorf("new token's kid %q, want %q", kid, rot.ActiveKID)
	}
	status, body = testutil.Do(t, c, http.MethodGet, st.User.URL+"/v1/users/"+adaID, newTok, nil, nil)
	if status != http.StatusOK {
		t.Errorf("new token: status %d: %s", status, body)
	}

	// The other verifier picks the new key up from the JWKS and keeps
	// accepting the old one.
	time.Sleep(5 * time.Millisecond)
	for name, tok := range map[string]string{"new": newTok, "old": oldTok} {
		if _, err := v.Verify(t.Context(), tok); err != nil {
			t.Errorf("%s token at a JWKS verifier: %v", name, err)
		}
	}

	// The keys survive a restart, the active one included.
	st.Stop(t, "user")
	st.Start(t, "user")
	if kids := jwksKIDs(t, c, st); !slices.Equal(kids, rot.KIDs) {
		t.Errorf("JWKS after a restart lists %v, want %v", kids, rot.KIDs)
	}
	if kid := kidOf(t, st.Token(t, "ada@example.com", "ada123")); kid != rot.ActiveKID {
		t.Errorf("after a restart tokens carry kid %q, want %q", kid, rot.ActiveKID)
	}
}

// ageKeyFile sets the creation time of keys in the user service's key
// file; the service must be stopped. It writes the file without the keys'
// activates_at, as before keys were pre-published (each signed from when
// it was made).
func ageKeyFile(t *testing.T, st *servicetest.Stack, made map[string]time.Time) {
	t.Helper()
	path := filepath.Join(st.DataDir, "user-signing-keys.json")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Active string `json:"active"`
		Keys   []struct {
			JWK       json.RawMessage `json:"jwk"`
			CreatedAt time.Time       `json:"created_at"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(b, &file); err != nil {
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
	if b, err = json.Marshal(file); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestRotateKeysPrunesKeysRetiredForTwiceTheTokenLifetime(t *testing.T) {
	st := servicetest.StartStack(t, rotateAtOnce)
	c := testutil.NewClient(t, usersvc.OpenAPI)
	admin := st.Token(t, "admin@example.com", "admin123")
	tokA := st.Token(t, "ada@example.com", "ada123")
	a := kidOf(t, tokA)
	b := rotate(t, c, st, admin).ActiveKID
	tokB := st.Token(t, "ada@example.com", "ada123")
	kc := rotate(t, c, st, admin).ActiveKID

	// With the default 15 min tokens, keys are kept 30 min after they
	// stop signing: a stopped 2 h ago (when b was made), b 20 min ago.
	now := time.Now()
	st.Stop(t, "user")
	ageKeyFile(t, st, map[string]time.Time{
		a: now.Add(-3 * time.Hour), b: now.Add(-2 * time.Hour), kc: now.Add(-20 * time.Minute),
	})
	st.Start(t, "user")

	rot := rotate(t, c, st, admin)
	if !slices.Equal(rot.KIDs, []string{rot.ActiveKID, kc, b}) {
		t.Fatalf("kept %v, want [new %s %s] (%s pruned)", rot.KIDs, kc, b, a)
	}
	if kids := jwksKIDs(t, c, st); !slices.Equal(kids, rot.KIDs) {
		t.Errorf("JWKS lists %v, want %v", kids, rot.KIDs)
	}
	status, body := testutil.Do(t, c, http.MethodGet, st.User.URL+"/v1/users/"+adaID, tokB, nil, nil)
	if status != http.StatusOK {
		t.Errorf("token of a key retired 20 min ago: status %d: %s", status, body)
	}
	a2 := testutil.Call(t, c, http.MethodGet, st.User.URL+"/v1/users/"+adaID, tokA, nil, nil)
	testutil.WantProblem(t, a2, 401, "unauthenticated", "")
}

func TestRotationPublishesTheNextKeyBeforeItSigns(t *testing.T) {
	const lead = 2 * time.Second
	st := servicetest.StartStack(t, servicetest.StackOptions{Env: map[string]string{
		"KEY_PREPUBLISH": lead.String(), "JWKS_REFRESH": "1s", "JWKS_MIN_REFRESH_GAP": "1s",
	}})
	c := testutil.NewClient(t, usersvc.OpenAPI)
	admin := st.Token(t, "admin@example.com", "admin123")
	old := st.Token(t, "ada@example.com", "ada123")
	oldKID := kidOf(t, old)
	orders := func(token string) int {
		t.Helper()
		status, _ := testutil.Do(t, http.DefaultClient, http.MethodGet, st.Order.URL+"/v1/orders?limit=1", token, nil, nil)
		return status
	}
	if status := orders(old); status != http.StatusOK {
		t.Fatalf("the order service refused a token: %d", status)
	}

	sent := time.Now()
	rot := rotate(t, c, st, admin)
	answered := time.Now()
	if rot.ActiveKID != oldKID || rot.NextKID == oldKID || !slices.Equal(rot.KIDs, []string{rot.NextKID, oldKID}) {
		t.Fatalf("rotation answered %+v; want %s still active, a new next key, both published", rot, oldKID)
	}
	if rot.ActivatesAt.Before(sent.Add(lead).Truncate(time.Second)) || rot.ActivatesAt.After(answered.Add(lead)) {
		t.Errorf("the next key activates at %v, want %v after the rotation", rot.ActivatesAt, lead)
	}
	// Published at once.
	if kids := jwksKIDs(t, c, st); !slices.Equal(kids, rot.KIDs) {
		t.Errorf("JWKS lists %v, want %v", kids, rot.KIDs)
	}

	// A verifier (a BFF, say) that fetches the JWKS now and will not fetch
	// it again for an hour.
	remote := auth.NewRemoteKeys(auth.RemoteKeysConfig{URL: st.User.URL + auth.JWKSPath, RefreshInterval: time.Hour, MinRefreshGap: time.Hour})
	v := auth.NewVerifier(remote, auth.DefaultIssuer, auth.DefaultAudience)
	during := st.Token(t, "ada@example.com", "ada123")
	if time.Now().Before(rot.ActivatesAt) && kidOf(t, during) != oldKID {
		t.Errorf("before the lead has passed a token is signed by %s, want the old key %s", kidOf(t, during), oldKID)
	}
	if _, err := v.Verify(t.Context(), during); err != nil {
		t.Fatal(err)
	}

	time.Sleep(time.Until(rot.ActivatesAt.Add(100 * time.Millisecond)))
	after := st.Token(t, "ada@example.com", "ada123")
	if kid := kidOf(t, after); kid != rot.NextKID {
		t.Fatalf("once the lead has passed a token is signed by %s, want %s", kid, rot.NextKID)
	}
	if _, err := v.Verify(t.Context(), after); err != nil || remote.Fetches() != 1 {
		t.Errorf("the new key's first tokens at a verifier that fetched after the rotation: %v, %d fetches; want accepted with no refetch", err, remote.Fetches())
	}
	for name, tok := range map[string]string{"old": old, "new": after} {
		if status := orders(tok); status != http.StatusOK {
			t.Errorf("the order service answered the %s key's token %d", name, status)
		}
	}
	// The answer of the next rotation names the key that signs now.
	if next := rotate(t, c, st, admin); next.ActiveKID != rot.NextKID || !slices.Equal(next.KIDs, []string{next.NextKID, rot.NextKID, oldKID}) {
		t.Errorf("a second rotation answered %+v; want %s active and all three keys", next, rot.NextKID)
	}
}
