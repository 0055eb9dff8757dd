package apikey

import (
	"strings"
	"sync"
	"testing"
)

func mustSet(t *testing.T, keys ...Key) *Set {
	t.Helper()
	s, err := NewSet(keys)
	if err != nil {
		t.Fatalf("NewSet: %v", err)
	}
	return s
}

func TestHash(t *testing.T) {
	t.Parallel()
	// sha256("abc") from FIPS 180-2.
	const want = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
	if got := Hash("abc"); got != want {
		t.Errorf("Hash(abc) = %s, want %s", got, want)
	}
}

func TestDevKeys(t *testing.T) {
	t.Parallel()
	s := mustSet(t, DevKeys()...)
	if name, ok := s.Lookup(DevKey); !ok || name != "dev" {
		t.Errorf("Lookup(DevKey) = %q, %v; want dev, true", name, ok)
	}
	// Callers cannot alter the development set through the returned slice.
	DevKeys()[0].Name = "changed"
	if DevKeys()[0].Name != "dev" {
		t.Error("DevKeys shares its slice")
	}
}

func TestLookup(t *testing.T) {
	t.Parallel()
	s := mustSet(t,
		Key{Name: "ios", SHA256: Hash("ios-secret")},
		Key{Name: "android", SHA256: strings.ToUpper(Hash("android-secret"))},
		Key{Name: "max-length", SHA256: Hash(strings.Repeat("k", MaxLen))},
		Key{Name: "too-long", SHA256: Hash(strings.Repeat("k", MaxLen+1))},
		Key{Name: "empty", SHA256: Hash("")},
	)
	tests := []struct {
		name      string
		presented string
		wantName  string
		wantOK    bool
	}{
		{"first key", "ios-secret", "ios", true},
		{"upper-case hash configured", "android-secret", "android", true},
		{"longest allowed", strings.Repeat("k", MaxLen), "max-length", true},
		{"unknown", "nope", "", false},
		{"case matters", "IOS-SECRET", "", false},
		{"prefix", "ios-secre", "", false},
		{"trailing space", "ios-secret ", "", false},
		{"the hash itself", Hash("ios-secret"), "", false},
		{"empty rejected even if configured", "", "", false},
		{"oversized rejected even if configured", strings.Repeat("k", MaxLen+1), "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			name, ok := s.Lookup(tt.presented)
			if name != tt.wantName || ok != tt.wantOK {
				t.Errorf("Lookup(%q) = %q, %v; want %q, %v", tt.presented, name, ok, tt.wantName, tt.wantOK)
			}
		})
	}
}

// TestLookupComparesEveryKey checks there is no early exit: whichever key
// matches, and when none does, every configured hash is compared.
func TestLookupComparesEveryKey(t *testing.T) {
	t.Parallel()
	raws := []string{"k0", "k1", "k2", "k3", "k4"}
	var keys []Key
	for i, r := range raws {
		keys = append(keys, Key{Name: string(rune('a' + i)), SHA256: Hash(r)})
	}
	s := mustSet(t, keys...)
	for i, presented := range append(raws, "none") {
		idx, compared := s.lookup(presented)
		wantIdx := i
		if presented == "none" {
			wantIdx = -1
		}
		if idx != wantIdx || compared != len(raws) {
			t.Errorf("lookup(%q) = index %d after %d comparisons; want %d after %d", presented, idx, compared, wantIdx, len(raws))
		}
	}
	for _, presented := range []string{"", strings.Repeat("x", MaxLen+1)} {
		if idx, compared := s.lookup(presented); idx != -1 || compared != 0 {
			t.Errorf("lookup of a rejected length = %d, %d; want -1, 0", idx, compared)
		}
	}
}

func TestNewSetValidation(t *testing.T) {
	t.Parallel()
	good := Hash("x")
	tests := []struct {
		name    string
		keys    []Key
		wantErr []string // substrings, all of which must appear
	}{
		{name: "one key", keys: []Key{{Name: "a", SHA256: good}}},
		{name: "upper-case hex accepted", keys: []Key{{Name: "a", SHA256: strings.ToUpper(good)}}},
		{name: "no keys", keys: nil, wantErr: []string{"no keys"}},
		{name: "empty name", keys: []Key{{Name: "", SHA256: good}}, wantErr: []string{"key 0: empty name"}},
		{name: "blank name", keys: []Key{{Name: "  ", SHA256: good}}, wantErr: []string{"key 0: empty name"}},
		{
			name:    "duplicate name",
			keys:    []Key{{Name: "a", SHA256: good}, {Name: "a", SHA256: Hash("y")}},
			wantErr: []string{`key 1: name "a" already used by key 0`},
		},
		{name: "short hash", keys: []Key{{Name: "a", SHA256: good[:63]}}, wantErr: []string{"63 characters"}},
		{name: "long hash", keys: []Key{{Name: "a", SHA256: good + "0"}}, wantErr: []string{"65 characters"}},
		{name: "raw key instead of hash", keys: []Key{{Name: "a", SHA256: DevKey}}, wantErr: []string{"characters, want 64 hex digits"}},
		{name: "non-hex hash", keys: []Key{{Name: "a", SHA256: "g" + good[1:]}}, wantErr: []string{"not hex"}},
		{
			name:    "duplicate hash",
			keys:    []Key{{Name: "a", SHA256: good}, {Name: "b", SHA256: strings.ToUpper(good)}},
			wantErr: []string{`key 1 ("b"): same hash as key 0`},
		},
		{
			name: "every problem reported",
			keys: []Key{
				{Name: "", SHA256: "zz"},
				{Name: "b", SHA256: good},
				{Name: "b", SHA256: "q" + good[1:]},
				{Name: "c", SHA256: good},
			},
			wantErr: []string{
				"key 0: empty name",
				"key 0 (\"\"): sha256 has 2 characters",
				`key 2: name "b" already used by key 1`,
				`key 2 ("b"): sha256 is not hex`,
				`key 3 ("c"): same hash as key 1`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, err := NewSet(tt.keys)
			if tt.wantErr == nil {
				if err != nil || s == nil {
					t.Fatalf("NewSet = %v, %v; want a set", s, err)
				}
				return
			}
			if err == nil {
				t.Fatal("NewSet succeeded, want error")
			}
			if s != nil {
				t.Error("NewSet returned a set with an error")
			}
			joined, ok := err.(interface{ Unwrap() []error })
			if !ok {
				t.Fatalf("error %T is not from errors.Join", err)
			}
			if got := len(joined.Unwrap()); got != len(tt.wantErr) {
				t.Errorf("%d errors, want %d: %v", got, len(tt.wantErr), err)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestConcurrentLookup(t *testing.T) {
	t.Parallel()
	s := mustSet(t, Key{Name: "a", SHA256: Hash("ka")}, Key{Name: "b", SHA256: Hash("kb")})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 500 {
				if name, ok := s.Lookup("kb"); !ok || name != "b" {
					t.Errorf("Lookup = %q, %v", name, ok)
				}
			}
		})
	}
	wg.Wait()
}

func TestNilSetRejects(t *testing.T) {
	t.Parallel()
	var s *Set
	if name, ok := s.Lookup(DevKey); ok || name != "" {
		t.Errorf("nil Set Lookup = %q, %v; want rejection", name, ok)
	}
}
