package auth_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"

	"github.com/acme/bff-gateway/internal/auth"
)

// swappableKeys is a key source whose keys a test changes.
type swappableKeys struct {
	mu   sync.Mutex
	keys map[string]jose.JSONWebKey
}

func (s *swappableKeys) VerificationKey(_ context.Context, kid string) (jose.JSONWebKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, ok := s.keys[kid]
	if !ok {
		return jose.JSONWebKey{}, auth.ErrUnknownKey
	}
	return k, nil
}

func (s *swappableKeys) set(kid string, pub *rsa.PublicKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if pub == nil {
		delete(s.keys, kid)
		return
	}
	s.keys[kid] = jose.JSONWebKey{Key: pub, KeyID: kid, Algorithm: "RS256", Use: "sig"}
}

// keysWith is a key source holding pub under kid.
func keysWith(kid string, pub *rsa.PublicKey) *swappableKeys {
	s := &swappableKeys{keys: map[string]jose.JSONWebKey{}}
	s.set(kid, pub)
	return s
}

func rsaKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func signed(t testing.TB, key *rsa.PrivateKey, kid string, now time.Time, ttl time.Duration) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{"iss": iss, "aud": aud, "sub": userID, "role": "customer",
		"iat": now.Unix(), "exp": now.Add(ttl).Unix()})
	tok.Header["kid"] = kid
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestAVerifiedTokenIsAcceptedAgainUntilItExpires: a token checked once
// is accepted again (with its principal and its own text) until its expiry
// plus the leeway, as a first check would: then it is refused.
func TestAVerifiedTokenIsAcceptedAgainUntilItExpires(t *testing.T) {
	key := rsaKey(t)
	keys := keysWith("k1", &key.PublicKey)
	now := time.Now()
	v := auth.NewVerifier(keys, iss, aud)
	v.SetClock(func() time.Time { return now })
	tok := signed(t, key, "k1", now, time.Minute)
	for range 3 {
		p, err := v.Verify(t.Context(), tok)
		if err != nil || p.Subject != userID || p.Token != tok {
			t.Fatalf("%+v %v", p, err)
		}
	}
	now = now.Add(time.Minute + auth.Leeway - time.Second)
	if _, err := v.Verify(t.Context(), tok); err != nil {
		t.Fatalf("within the leeway: %v", err)
	}
	now = now.Add(2 * time.Second)
	if _, err := v.Verify(t.Context(), tok); err == nil {
		t.Fatal("an expired token was accepted from the cache")
	}
}

// TestARememberedTokenSkipsTheSignatureCheck: accepting a token verified
// before takes a few allocations (its hash, the lookup), not the parse and
// RSA check of a first verification (about 70).
func TestARememberedTokenSkipsTheSignatureCheck(t *testing.T) {
	key := rsaKey(t)
	keys := keysWith("k1", &key.PublicKey)
	tok := signed(t, key, "k1", time.Now(), time.Minute)
	v := auth.NewVerifier(keys, iss, aud)
	first := testing.AllocsPerRun(1, func() {
		if _, err := auth.NewVerifier(keys, iss, aud).Verify(t.Context(), tok); err != nil {
			t.Fatal(err)
		}
	})
	again := testing.AllocsPerRun(20, func() {
		if _, err := v.Verify(t.Context(), tok); err != nil {
			t.Fatal(err)
		}
	})
	if again > 5 || again*10 > first {
		t.Errorf("a remembered token took %v allocations, a first verification %v", again, first)
	}
}

// TestAVerifiedTokenIsCheckedAgainWhenItsKeyGoesOrChanges: a token
// remembered as verified is refused once its key leaves the key set, and
// when its key id comes to name another key.
func TestAVerifiedTokenIsCheckedAgainWhenItsKeyGoesOrChanges(t *testing.T) {
	key, other := rsaKey(t), rsaKey(t)
	keys := keysWith("k1", &key.PublicKey)
	v := auth.NewVerifier(keys, iss, aud)
	tok := signed(t, key, "k1", time.Now(), time.Minute)
	if _, err := v.Verify(t.Context(), tok); err != nil {
		t.Fatal(err)
	}
	keys.set("k1", nil)
	if _, err := v.Verify(t.Context(), tok); err == nil {
		t.Fatal("accepted after its key left the key set")
	}
	keys.set("k1", &key.PublicKey)
	if _, err := v.Verify(t.Context(), tok); err != nil {
		t.Fatalf("its key is back: %v", err)
	}
	keys.set("k1", &other.PublicKey)
	if _, err := v.Verify(t.Context(), tok); err == nil {
		t.Fatal("accepted after its key id came to name another key")
	}
	// An equal key (a key set fetched again) keeps it accepted.
	keys.set("k1", &rsa.PublicKey{N: key.N, E: key.E})
	if _, err := v.Verify(t.Context(), tok); err != nil {
		t.Fatalf("an equal key: %v", err)
	}
}

// TestARefusedTokenIsNeverRemembered: a token refused once (here, signed
// by a key the set does not hold yet) is checked in full every time.
func TestARefusedTokenIsNeverRemembered(t *testing.T) {
	key, forger := rsaKey(t), rsaKey(t)
	keys := keysWith("k1", &key.PublicKey)
	v := auth.NewVerifier(keys, iss, aud)
	forged := signed(t, forger, "k1", time.Now(), time.Minute)
	for range 2 {
		if _, err := v.Verify(t.Context(), forged); err == nil {
			t.Fatal("a forged token was accepted")
		}
	}
	keys.set("k1", &forger.PublicKey)
	if _, err := v.Verify(t.Context(), forged); err != nil {
		t.Fatalf("once its key is known it verifies: %v", err)
	}
}

// BenchmarkVerify: a token verified in full every time (a new verifier
// each time, as before tokens were remembered) and one remembered.
func BenchmarkVerify(b *testing.B) {
	key := rsaKey(b)
	keys := keysWith("k1", &key.PublicKey)
	tok := signed(b, key, "k1", time.Now(), time.Hour)
	b.Run("first", func(b *testing.B) {
		for b.Loop() {
			if _, err := auth.NewVerifier(keys, iss, aud).Verify(b.Context(), tok); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("remembered", func(b *testing.B) {
		v := auth.NewVerifier(keys, iss, aud)
		for b.Loop() {
			if _, err := v.Verify(b.Context(), tok); err != nil {
				b.Fatal(err)
			}
		}
	})
}
