// Package auth issues and verifies the RS256 access tokens of the shop: the
// user service signs them with a key kept in its data directory and
// publishes the public keys as a JWKS; the other services and the BFFs
// verify them against that JWKS.
package auth

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// SigningAlgorithm is the algorithm the user service signs with.
const SigningAlgorithm = "RS256"

const rsaBits = 2048

// MaxKeys bounds the keys a KeySet keeps, the active one included, so that
// a burst of rotations cannot grow the published JWKS past what verifiers
// read (256 KiB); past it the oldest retired keys are dropped, and the
// tokens they signed with them.
const MaxKeys = 10

// storedKey is one private key as kept on disk.
type storedKey struct {
	JWK       jose.JSONWebKey `json:"jwk"`
	CreatedAt time.Time       `json:"created_at"`
	// ActivatesAt is when the key starts signing; until then it is only
	// published (pre-published), so that verifiers have fetched it before
	// they meet a token it signed. Zero, as in files written before keys
	// were pre-published, means the key has signed since it was made.
	ActivatesAt time.Time `json:"activates_at,omitzero"`
}

// activeAt reports whether the key may sign at now.
func (k storedKey) activeAt(now time.Time) bool {
	return k.ActivatesAt.IsZero() || !k.ActivatesAt.After(now)
}

// activation is when the key started (or starts) signing.
func (k storedKey) activation() time.Time {
	if k.ActivatesAt.IsZero() {
		return k.CreatedAt
	}
	return k.ActivatesAt
}

// keyFile is the key file. Keys are kept newest first; the key that
// signs at a time is the newest whose ActivatesAt has come.
type keyFile struct {
	// Active is the key that signed when the file was saved. It is
	// informational (and what a binary from before pre-publication signs
	// with): the signing key is derived from the keys' ActivatesAt.
	Active string      `json:"active"`
	Keys   []storedKey `json:"keys"`
}

// KeySet is the user service's signing keys, persisted as a JSON file
// (mode 0600) so that tokens survive a restart. One key signs at a time;
// every key kept verifies, so that tokens signed before a rotation stay
// valid, and the next key is published before it signs.
type KeySet struct {
	path string
	mu   sync.RWMutex
	file keyFile
	now  func() time.Time
}

// LoadOrCreateKeySet reads the key file at path, creating it with a new
// RSA key when it does not exist.
func LoadOrCreateKeySet(path string) (*KeySet, error) {
	return LoadOrCreateKeySetWithClock(path, time.Now)
}

// LoadOrCreateKeySetWithClock is LoadOrCreateKeySet with the set reading
// the time from now (for tests; nil means time.Now): when keys are made,
// when they sign, when they are pruned.
func LoadOrCreateKeySetWithClock(path string, now func() time.Time) (*KeySet, error) {
	if now == nil {
		now = time.Now
	}
	ks := &KeySet{path: path, now: now}
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := ks.Rotate(); err != nil {
			return nil, err
		}
		return ks, nil
	case err != nil:
		return nil, fmt.Errorf("read signing keys: %w", err)
	}
	if err := json.Unmarshal(b, &ks.file); err != nil {
		return nil, fmt.Errorf("decode signing keys %s: %w", path, err)
	}
	if len(ks.file.Keys) == 0 {
		return nil, fmt.Errorf("signing keys %s: no key", path)
	}
	for _, k := range ks.file.Keys {
		if _, ok := k.JWK.Key.(*rsa.PrivateKey); !ok || k.JWK.KeyID == "" {
			return nil, fmt.Errorf("signing keys %s: key %q is not an RSA private key with a kid", path, k.JWK.KeyID)
		}
	}
	if _, ok := ks.find(ks.file.Active); ks.file.Active != "" && !ok {
		return nil, fmt.Errorf("signing keys %s: active key %q is missing", path, ks.file.Active)
	}
	return ks, nil
}

// Rotate makes a new signing key active at once and keeps the previous
// ones (up to MaxKeys in all) for verification, then saves the set.
func (ks *KeySet) Rotate() error {
	_, err := ks.ScheduleRotation(0, 0)
	return err
}

// KeyIDs names the keys of a KeySet at a moment.
type KeyIDs struct {
	// Active is the id of the key that signs.
	Active string
	// Next is the id of the key published ahead of signing, "" when
	// there is none; it signs from NextActivatesAt.
	Next            string
	NextActivatesAt time.Time
	// All are the ids of every key kept (published), the next and the
	// active one included, newest first.
	All []string
}

// IDs returns the ids of the active key, of the next one and of every key
// kept, as of now.
func (ks *KeySet) IDs() KeyIDs {
	ks.mu.RLock()
	defer ks.mu.RUnlock()
	return ks.file.ids(ks.now())
}

// activeIndex returns the index of the key that signs at now: the newest
// whose time has come (or, should none have, the oldest).
func (f keyFile) activeIndex(now time.Time) int {
	for i, k := range f.Keys {
		if k.activeAt(now) {
			return i
		}
	}
	return len(f.Keys) - 1
}

func (f keyFile) ids(now time.Time) KeyIDs {
	out := KeyIDs{All: make([]string, 0, len(f.Keys))}
	for _, k := range f.Keys {
		out.All = append(out.All, k.JWK.KeyID)
	}
	if len(f.Keys) == 0 {
		return out
	}
	i := f.activeIndex(now)
	out.Active = f.Keys[i].JWK.KeyID
	if i > 0 {
		next := f.Keys[i-1]
		out.Next, out.NextActivatesAt = next.JWK.KeyID, next.ActivatesAt
	}
	return out
}

// Rotation is what ScheduleRotation did.
type Rotation struct {
	// New is the id of the key made; it signs from ActivatesAt.
	New         string
	ActivatesAt time.Time
	// Keys are the keys kept, as IDs names them just after the rotation.
	Keys KeyIDs
	// Pruned are the ids of the keys dropped.
	Pruned []string
}

// RotateAndPrune makes a new signing key active at once and prunes, as
// ScheduleRotation(0, retain) does; it returns the ids kept and dropped.
func (ks *KeySet) RotateAndPrune(retain time.Duration) (KeyIDs, []string, error) {
	r, err := ks.ScheduleRotation(0, retain)
	return r.Keys, r.Pruned, err
}

// ScheduleRotation makes a new signing key, publishes it at once and lets
// it sign from lead on (lead <= 0: at once); until then the current key
// keeps signing. lead should exceed how long verifiers may go without
// refetching the JWKS, so that none meets a token of a key it has not
// fetched. A key that was scheduled but has not signed yet is replaced
// (dropped: no token names it).
//
// It also drops every retired key whose successor has been signing for
// more than retain: once retain exceeds the token lifetime plus Leeway no
// token a dropped key signed can still be valid; twice the token lifetime
// is a safe choice. retain <= 0 keeps every key but those beyond MaxKeys
// (the oldest retired ones go first). The key that signs now and the new
// key are never dropped. It saves the set.
func (ks *KeySet) ScheduleRotation(lead, retain time.Duration) (Rotation, error) {
	priv, err := rsa.GenerateKey(rand.Reader, rsaBits)
	if err != nil {
		return Rotation{}, fmt.Errorf("generate signing key: %w", err)
	}
	jwk := jose.JSONWebKey{Key: priv, Algorithm: SigningAlgorithm, Use: "sig"}
	thumb, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return Rotation{}, fmt.Errorf("thumbprint signing key: %w", err)
	}
	jwk.KeyID = fmt.Sprintf("%x", thumb[:8])

	ks.mu.Lock()
	defer ks.mu.Unlock()
	now := ks.now().UTC()
	made := storedKey{JWK: jwk, CreatedAt: now, ActivatesAt: now.Add(max(lead, 0))}

	var pruned []string
	keys := []storedKey{made}
	current := ks.file.activeIndex(now)
	for i, k := range ks.file.Keys {
		if i < current {
			pruned = append(pruned, k.JWK.KeyID) // scheduled, never signed
			continue
		}
		keys = append(keys, k)
	}
	// Keys are newest first: each one stopped signing when the one
	// before it in the list started.
	active := keyFile{Keys: keys}.activeIndex(now)
	next := keyFile{Keys: make([]storedKey, 0, min(len(keys), MaxKeys))}
	for i, k := range keys {
		if i > active && (len(next.Keys) == MaxKeys || (retain > 0 && now.Sub(keys[i-1].activation()) > retain)) {
			pruned = append(pruned, k.JWK.KeyID)
			continue
		}
		next.Keys = append(next.Keys, k)
	}
	next.Active = next.Keys[next.activeIndex(now)].JWK.KeyID
	if err := writeKeyFile(ks.path, next); err != nil {
		return Rotation{}, err
	}
	ks.file = next
	return Rotation{New: jwk.KeyID, ActivatesAt: made.ActivatesAt, Keys: next.ids(now), Pruned: pruned}, nil
}

func writeKeyFile(path string, f keyFile) error {
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return fmt.Errorf("encode signing keys: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return fmt.Errorf("create key directory: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("write signing keys: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("save signing keys: %w", err)
	}
	return nil
}

func (ks *KeySet) find(kid string) (storedKey, bool) {
	for _, k := range ks.file.Keys {
		if k.JWK.KeyID == kid {
			return k, true
		}
	}
	return storedKey{}, false
}

// signerAt returns the id and private key of the key that signs at now.
func (ks *KeySet) signerAt(now time.Time) (string, *rsa.PrivateKey) {
	ks.mu.RLock()
	defer ks.mu.RUnlock()
	k := ks.file.Keys[ks.file.activeIndex(now)]
	return k.JWK.KeyID, k.JWK.Key.(*rsa.PrivateKey)
}

// PublicJWKS returns the public half of every kept key, the next one
// (published before it signs) included, newest first.
func (ks *KeySet) PublicJWKS() jose.JSONWebKeySet {
	ks.mu.RLock()
	defer ks.mu.RUnlock()
	set := jose.JSONWebKeySet{Keys: make([]jose.JSONWebKey, 0, len(ks.file.Keys))}
	for _, k := range ks.file.Keys {
		set.Keys = append(set.Keys, k.JWK.Public())
	}
	return set
}

// VerificationKey implements KeySource for the keys of this set.
func (ks *KeySet) VerificationKey(_ context.Context, kid string) (jose.JSONWebKey, error) {
	ks.mu.RLock()
	defer ks.mu.RUnlock()
	k, ok := ks.find(kid)
	if !ok {
		return jose.JSONWebKey{}, ErrUnknownKey
	}
	return k.JWK.Public(), nil
}
