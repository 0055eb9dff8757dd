package auth_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/acme/bff-gateway/internal/auth"
	"github.com/acme/bff-gateway/internal/fakeclock"
)

// clockedKeySet returns a key set at path reading the time from a fake
// clock, stopped an hour in the past so that the tokens it signs, even a
// few rotations later, verify against the real clock.
func clockedKeySet(t *testing.T, path string) (*auth.KeySet, *fakeclock.Clock) {
	t.Helper()
	clock := fakeclock.New(time.Now().Add(-time.Hour).Truncate(time.Second))
	ks, err := auth.LoadOrCreateKeySetWithClock(path, clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	return ks, clock
}

// kidOfToken returns the kid header of a signed token.
func kidOfToken(t *testing.T, tok string) string {
	t.Helper()
	var header struct {
		KID string `json:"kid"`
	}
	seg, _, _ := strings.Cut(tok, ".")
	if err := json.Unmarshal(mustDecode(t, seg), &header); err != nil {
		t.Fatal(err)
	}
	return header.KID
}

func mustDecode(t *testing.T, seg string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func publishedKIDs(ks *auth.KeySet) []string {
	var kids []string
	for _, k := range ks.PublicJWKS().Keys {
		kids = append(kids, k.KeyID)
	}
	return kids
}

func TestScheduledKeyIsPublishedBeforeItSigns(t *testing.T) {
	ks, clock := clockedKeySet(t, filepath.Join(t.TempDir(), "keys.json"))
	issuer := &auth.Issuer{Keys: ks, Issuer: iss, Audience: aud, TTL: 2 * time.Hour, Now: clock.Now}
	issue := func() string {
		t.Helper()
		tok, _, err := issuer.Issue(userID, "customer")
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	a := ks.IDs().Active

	const lead = 10 * time.Minute
	rot, err := ks.ScheduleRotation(lead, 0)
	if err != nil {
		t.Fatal(err)
	}
	b := rot.New
	if b == a || !rot.ActivatesAt.Equal(clock.Now().Add(lead)) {
		t.Fatalf("rotation %+v: want a new key activating at %v", rot, clock.Now().Add(lead))
	}
	want := auth.KeyIDs{Active: a, Next: b, NextActivatesAt: rot.ActivatesAt, All: []string{b, a}}
	if got := ks.IDs(); !sameIDs(got, want) || !sameIDs(rot.Keys, want) {
		t.Fatalf("IDs %+v, rotation's %+v; want %+v", got, rot.Keys, want)
	}
	if got := publishedKIDs(ks); !slices.Equal(got, []string{b, a}) {
		t.Fatalf("the JWKS lists %v, want the next key published at once: %v", got, []string{b, a})
	}

	// A verifier that fetched the JWKS right after the rotation, and will
	// not fetch it again for an hour.
	var fetches atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		_ = json.NewEncoder(w).Encode(ks.PublicJWKS())
	}))
	defer srv.Close()
	remote := auth.NewRemoteKeys(auth.RemoteKeysConfig{URL: srv.URL, RefreshInterval: time.Hour, MinRefreshGap: time.Hour})
	v := auth.NewVerifier(remote, iss, aud)

	before := issue()
	if kid := kidOfToken(t, before); kid != a {
		t.Errorf("just after the rotation a token is signed by %s, want the old key %s", kid, a)
	}
	if _, err := v.Verify(t.Context(), before); err != nil {
		t.Fatal(err)
	}
	clock.Advance(lead - time.Second)
	if kid := kidOfToken(t, issue()); kid != a {
		t.Errorf("a second before the lead passes a token is signed by %s, want %s", kid, a)
	}
	clock.Advance(time.Second)
	after := issue()
	if kid := kidOfToken(t, after); kid != b {
		t.Errorf("once the lead has passed a token is signed by %s, want the new key %s", kid, b)
	}
	if got := ks.IDs(); !sameIDs(got, auth.KeyIDs{Active: b, All: []string{b, a}}) {
		t.Errorf("IDs once the new key signs: %+v", got)
	}
	for name, tok := range map[string]string{"old": before, "new": after} {
		if _, err := v.Verify(t.Context(), tok); err != nil {
			t.Errorf("%s token at a verifier that fetched before the new key signed: %v", name, err)
		}
	}
	if n := fetches.Load(); n != 1 {
		t.Errorf("the verifier fetched the JWKS %d times, want once: the new key was known before it signed", n)
	}
}

func sameIDs(a, b auth.KeyIDs) bool {
	return a.Active == b.Active && a.Next == b.Next && a.NextActivatesAt.Equal(b.NextActivatesAt) && slices.Equal(a.All, b.All)
}

func TestPruningNeverDropsThePendingOrTheActiveKey(t *testing.T) {
	ks, clock := clockedKeySet(t, filepath.Join(t.TempDir(), "keys.json"))
	a := ks.IDs().Active
	clock.Advance(24 * time.Hour)

	// The active key has signed for a day and retain is a nanosecond: it
	// keeps signing until the new key's time comes, so it stays.
	rot, err := ks.ScheduleRotation(time.Minute, time.Nanosecond)
	if err != nil {
		t.Fatal(err)
	}
	b := rot.New
	if !slices.Equal(rot.Keys.All, []string{b, a}) || len(rot.Pruned) != 0 {
		t.Fatalf("kept %v, pruned %v; want [%s %s] and nothing pruned", rot.Keys.All, rot.Pruned, b, a)
	}

	// A new rotation while b waits replaces b (it never signed) and keeps a.
	rot, err = ks.ScheduleRotation(time.Minute, time.Nanosecond)
	if err != nil {
		t.Fatal(err)
	}
	c := rot.New
	if !slices.Equal(rot.Keys.All, []string{c, a}) || !slices.Equal(rot.Pruned, []string{b}) || rot.Keys.Active != a || rot.Keys.Next != c {
		t.Fatalf("a second schedule: %+v; want [%s %s] with %s active, %s next, %s replaced", rot, c, a, a, c, b)
	}

	// c signs; a is retired and kept while c has signed for less than
	// retain, dropped after.
	clock.Advance(time.Minute + 10*time.Second)
	rot, err = ks.ScheduleRotation(time.Minute, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	d := rot.New
	if !slices.Equal(rot.Keys.All, []string{d, c, a}) || len(rot.Pruned) != 0 {
		t.Fatalf("kept %v, pruned %v; want [%s %s %s]: a retired 10 s ago stays", rot.Keys.All, rot.Pruned, d, c, a)
	}
	clock.Advance(55 * time.Second) // c has signed for 65 s; d waits 5 s more
	rot, err = ks.ScheduleRotation(time.Hour, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	e := rot.New
	if !slices.Equal(rot.Keys.All, []string{e, c}) || !slices.Equal(rot.Pruned, []string{d, a}) || rot.Keys.Active != c {
		t.Fatalf("kept %v (active %s), pruned %v; want [%s %s], %s replaced and %s pruned", rot.Keys.All, rot.Keys.Active, rot.Pruned, e, c, d, a)
	}

	// MaxKeys bounds the set, but never drops the active or the next key.
	for range auth.MaxKeys + 3 {
		if err := ks.Rotate(); err != nil {
			t.Fatal(err)
		}
		clock.Advance(time.Second)
	}
	active := ks.IDs().Active
	rot, err = ks.ScheduleRotation(time.Hour, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(rot.Keys.All) != auth.MaxKeys || rot.Keys.All[0] != rot.New || rot.Keys.All[1] != active ||
		rot.Keys.Active != active || rot.Keys.Next != rot.New {
		t.Errorf("a full set: %+v; want %d keys, the next %s then the active %s first", rot.Keys, auth.MaxKeys, rot.New, active)
	}
}

func TestKeyFileRoundTripsActivatesAt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.json")
	ks, clock := clockedKeySet(t, path)
	a := ks.IDs().Active
	rot, err := ks.ScheduleRotation(10*time.Minute, 0)
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Active string `json:"active"`
		Keys   []struct {
			ActivatesAt *time.Time `json:"activates_at"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(mustRead(t, path), &file); err != nil {
		t.Fatal(err)
	}
	// The file names the key signing when it was saved: a binary from
	// before pre-publication, rolled back to, goes on signing with it.
	if file.Active != a || len(file.Keys) != 2 || file.Keys[0].ActivatesAt == nil || !file.Keys[0].ActivatesAt.Equal(rot.ActivatesAt) {
		t.Fatalf("the key file holds active %q and keys %+v; want %s and the next key's activates_at %v", file.Active, file.Keys, a, rot.ActivatesAt)
	}

	reloaded, err := auth.LoadOrCreateKeySetWithClock(path, clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	if got := reloaded.IDs(); !sameIDs(got, rot.Keys) {
		t.Errorf("reloaded %+v, want %+v", got, rot.Keys)
	}
	clock.Advance(10 * time.Minute)
	if got := reloaded.IDs(); got.Active != rot.New || got.Next != "" {
		t.Errorf("reloaded, once the lead has passed: %+v, want %s active", got, rot.New)
	}
}

func TestKeyFileWithoutActivatesAtLoads(t *testing.T) {
	// Two keys as a service before pre-publication saved them: newest
	// first, the newest active, no activates_at.
	path := filepath.Join(t.TempDir(), "keys.json")
	made := time.Now().Add(-3 * time.Hour).UTC()
	ks, _ := clockedKeySet(t, path)
	if err := ks.Rotate(); err != nil {
		t.Fatal(err)
	}
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
	file.Keys[0].CreatedAt, file.Keys[1].CreatedAt = made.Add(time.Hour), made
	b, err := json.Marshal(file)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "activates_at") {
		t.Fatal("the old format has no activates_at")
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	newest, older := ks.IDs().All[0], ks.IDs().All[1]

	old := newKeySetAt(t, path)
	if got := old.IDs(); got.Active != newest || got.Next != "" || !slices.Equal(got.All, []string{newest, older}) {
		t.Fatalf("an old key file loads as %+v; want %s active, no next key", got, newest)
	}
	tok, _, err := (&auth.Issuer{Keys: old, Issuer: iss, Audience: aud, TTL: time.Minute}).Issue(userID, "customer")
	if err != nil || kidOfToken(t, tok) != newest {
		t.Fatalf("an old key file signs with %v (%v), want %s", tok, err, newest)
	}
	// Without activates_at a key signed from when it was made: the older
	// key stopped 2 h ago, when the newest was made.
	rot, err := old.ScheduleRotation(time.Minute, 90*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rot.Keys.All, []string{rot.New, newest}) || !slices.Equal(rot.Pruned, []string{older}) {
		t.Errorf("kept %v, pruned %v; want [%s %s] and %s pruned", rot.Keys.All, rot.Pruned, rot.New, newest, older)
	}
}
