// Package apikey checks the API keys the mobile app presents to its BFF.
// Keys are configured by name and SHA-256 hash only, so the configuration
// never holds a usable key. A plain, unsalted hash is enough because keys are
// long random strings, not passwords.
package apikey

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// MaxLen is the longest key Lookup will consider; longer ones are rejected
// without hashing.
const MaxLen = 256

// DevKey is the documented development key. DevKeys accepts it; never
// configure it in production.
const DevKey = "dev-mobile-app-key"

// DevKeys returns the development key set: DevKey under the name "dev".
func DevKeys() []Key {
	return []Key{{Name: "dev", SHA256: Hash(DevKey)}}
}

// Key is a configured API key.
type Key struct {
	// Name identifies the key's holder (for logs and metrics).
	Name string `yaml:"name"`
	// SHA256 is the hex-encoded SHA-256 of the raw key.
	SHA256 string `yaml:"sha256"`
}

// Hash returns the hex-encoded SHA-256 of a raw key, the form Key.SHA256
// takes.
func Hash(raw string) string {
	sum := sha256.Sum256([]byte(raw))
	return hex.EncodeToString(sum[:])
}

// Set is a validated set of keys. It is safe for concurrent use.
type Set struct {
	names  []string
	hashes [][sha256.Size]byte
}

// NewSet validates keys and returns them as a Set. Every name must be
// non-empty and unique, every hash 64 hex digits (either case) and unique,
// and there must be at least one key; all problems are reported together.
func NewSet(keys []Key) (*Set, error) {
	var errs []error
	if len(keys) == 0 {
		errs = append(errs, errors.New("apikey: no keys"))
	}
	s := &Set{}
	names := make(map[string]int, len(keys))
	hashes := make(map[[sha256.Size]byte]int, len(keys))
	for i, k := range keys {
		switch prev, dup := names[k.Name]; {
		case strings.TrimSpace(k.Name) == "":
			errs = append(errs, fmt.Errorf("apikey: key %d: empty name", i))
		case dup:
			errs = append(errs, fmt.Errorf("apikey: key %d: name %q already used by key %d", i, k.Name, prev))
		default:
			names[k.Name] = i
		}
		var h [sha256.Size]byte
		if len(k.SHA256) != hex.EncodedLen(sha256.Size) {
			errs = append(errs, fmt.Errorf("apikey: key %d (%q): sha256 has %d characters, want %d hex digits", i, k.Name, len(k.SHA256), hex.EncodedLen(sha256.Size)))
			continue
		}
		if _, err := hex.Decode(h[:], []byte(k.SHA256)); err != nil {
			errs = append(errs, fmt.Errorf("apikey: key %d (%q): sha256 is not hex: %w", i, k.Name, err))
			continue
		}
		if prev, dup := hashes[h]; dup {
			errs = append(errs, fmt.Errorf("apikey: key %d (%q): same hash as key %d", i, k.Name, prev))
			continue
		}
		hashes[h] = i
		s.names = append(s.names, k.Name)
		s.hashes = append(s.hashes, h)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return s, nil
}

// Lookup reports whether presented is one of the keys, and its name. The
// presented key's hash is compared with every configured hash in constant
// time, with no early exit, so timing does not reveal which key (or how
// much of a hash) matched. An empty key, or one longer than MaxLen bytes,
// is rejected, as is every key by a nil Set.
func (s *Set) Lookup(presented string) (name string, ok bool) {
	i, _ := s.lookup(presented)
	if i < 0 {
		return "", false
	}
	return s.names[i], true
}

// lookup returns the index of the matching key, or -1, and how many keys it
// compared (for tests: always all of them once the length checks pass).
func (s *Set) lookup(presented string) (index, compared int) {
	if s == nil || len(presented) == 0 || len(presented) > MaxLen {
		return -1, 0
	}
	sum := sha256.Sum256([]byte(presented))
	index = -1
	for i := range s.hashes {
		eq := subtle.ConstantTimeCompare(sum[:], s.hashes[i][:])
		index = subtle.ConstantTimeSelect(eq, i, index)
		compared++
	}
	return index, compared
}
