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
}

type keyFile struct {
	Active string      `json:"active"`
	Keys   []storedKey `json:"keys"`
}

// KeySet is the user service's signing keys, persisted as a JSON file
// (mode 0600) so that tokens survive a restart. One key signs; every key
// kept verifies, so that tokens signed before a rotation stay valid.
type KeySet struct {
	path string
	mu   sync.RWMutex
	file keyFile
}

// LoadOrCreateKeySet reads the key file at path, creating it with a new
// RSA key when it does not exist.
func LoadOrCreateKeySet(path string) (*KeySet, error) {
	ks := &KeySet{path: path}
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
	if _, ok := ks.find(ks.file.Active); !ok {
		return nil, fmt.Errorf("signing keys %s: active key %q is missing", path, ks.file.Active)
	}
	return ks, nil
}

// Rotate makes a new signing key active and keeps the previous ones (up to
// MaxKeys in all) for verification, then saves the set.
func (ks *KeySet) Rotate() error {
	_, _, err := ks.RotateAndPrune(0)
	return err
}

// KeyIDs names the keys of a KeySet.
type KeyIDs struct {
	// Active is the id of the key that signs.
	Active string
	// All are the ids of every key kept, the active one included, newest
	// first.
	All []string
}

// IDs returns the ids of the active key and of every key kept.
func (ks *KeySet) IDs() KeyIDs {
	ks.mu.RLock()
	defer ks.mu.RUnlock()
	return ks.file.ids()
}

func (f keyFile) ids() KeyIDs {
	out := KeyIDs{Active: f.Active, All: make([]string, 0, len(f.Keys))}
	for _, k := range f.Keys {
		out.All = append(out.All, k.JWK.KeyID)
	}
	return out
}

// RotateAndPrune makes a new signing key active, as Rotate does, and drops
// every retired key that stopped signing more than retain ago. A key stops
// signing when the next one is made, so once retain exceeds the token
// lifetime plus Leeway no token a dropped key signed can still be valid;
// twice the token lifetime is a safe choice. retain <= 0 keeps every key
// but those beyond MaxKeys. It saves the set and returns the ids kept and the ids dropped.
func (ks *KeySet) RotateAndPrune(retain time.Duration) (KeyIDs, []string, error) {
	priv, err := rsa.GenerateKey(rand.Reader, rsaBits)
	if err != nil {
		return KeyIDs{}, nil, fmt.Errorf("generate signing key: %w", err)
	}
	jwk := jose.JSONWebKey{Key: priv, Algorithm: SigningAlgorithm, Use: "sig"}
	thumb, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return KeyIDs{}, nil, fmt.Errorf("thumbprint signing key: %w", err)
	}
	jwk.KeyID = fmt.Sprintf("%x", thumb[:8])
	now := time.Now().UTC()

	ks.mu.Lock()
	defer ks.mu.Unlock()
	// Keys are kept newest first: each one stopped signing when the one
	// before it in the list was made.
	keys := append([]storedKey{{JWK: jwk, CreatedAt: now}}, ks.file.Keys...)
	next := keyFile{Active: jwk.KeyID, Keys: make([]storedKey, 1, len(keys))}
	next.Keys[0] = keys[0]
	var pruned []string
	for i := 1; i < len(keys); i++ {
		if len(next.Keys) == MaxKeys || (retain > 0 && now.Sub(keys[i-1].CreatedAt) > retain) {
			pruned = append(pruned, keys[i].JWK.KeyID)
			continue
		}
		next.Keys = append(next.Keys, keys[i])
	}
	if err := writeKeyFile(ks.path, next); err != nil {
		return KeyIDs{}, nil, err
	}
	ks.file = next
	return next.ids(), pruned, nil
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

// signer returns the active key id and private key.
func (ks *KeySet) signer() (string, *rsa.PrivateKey) {
	ks.mu.RLock()
	defer ks.mu.RUnlock()
	k, _ := ks.find(ks.file.Active)
	return k.JWK.KeyID, k.JWK.Key.(*rsa.PrivateKey)
}

// PublicJWKS returns the public half of every kept key.
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
