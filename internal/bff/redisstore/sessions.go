package redisstore

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/acme/bff-gateway/internal/bff/session"
)

// sessionsStore is the store's name in keys and reports.
const sessionsStore = "session"

// SessionKey is one key sealing sessions: an id written beside what it
// seals, and a 32-byte AES-256 secret.
type SessionKey struct {
	ID     string
	Secret []byte
}

var _ session.Store = (*Sessions)(nil)

// Sessions keeps web sessions in Redis, each under the SHA-256 of its id
// (the id is the browser's credential and is not kept), sealed with
// AES-256-GCM by the newest key, bound to its key (a sealed session moved
// under another id does not open), and expiring with the session.
type Sessions struct {
	c      *Client
	newest string
	aeads  map[string]cipher.AEAD
	now    func() time.Time
}

// NewSessions returns the session store of c, sealing with keys[0] and
// opening with any of keys. A nil now means time.Now.
func NewSessions(c *Client, keys []SessionKey, now func() time.Time) (*Sessions, error) {
	if len(keys) == 0 {
		return nil, errors.New("redis sessions: no key to seal them with")
	}
	if now == nil {
		now = time.Now
	}
	s := &Sessions{c: c, newest: keys[0].ID, aeads: make(map[string]cipher.AEAD, len(keys)), now: now}
	for _, k := range keys {
		block, err := aes.NewCipher(k.Secret)
		if err != nil {
			return nil, fmt.Errorf("redis sessions: key %s: %w", k.ID, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("redis sessions: key %s: %w", k.ID, err)
		}
		s.aeads[k.ID] = aead
	}
	return s, nil
}

// sealed is what a session's value holds, before sealing.
type sealed struct {
	Token     string    `json:"t"`
	UserID    string    `json:"u"`
	Role      string    `json:"r"`
	ExpiresAt time.Time `json:"e"`
}

// Create stores s under a new random id, for as long as s lasts.
func (s *Sessions) Create(ctx context.Context, sess session.Session) (string, error) {
	now := s.now()
	if err := session.Validate(sess, now); err != nil {
		return "", err
	}
	for range 3 { // a duplicate of 32 random bytes is for the tests' sake
		id, err := session.NewID()
		if err != nil {
			return "", err
		}
		key := s.c.key(sessionsStore, hashed(id))
		value, err := s.seal(key, sess)
		if err != nil {
			return "", err
		}
		ok, err := s.c.rdb.SetNX(ctx, key, value, sess.ExpiresAt.Sub(now)).Result()
		if err != nil {
			return "", s.c.failed(ctx, sessionsStore, err)
		}
		if ok {
			return id, nil
		}
	}
	return "", errors.New("redis sessions: three random ids in a row were taken")
}

// Get returns the session of id. An unknown, expired or unreadable one (a
// key since retired, a value tampered with) is not found.
func (s *Sessions) Get(ctx context.Context, id string) (session.Session, bool, error) {
	if len(id) != session.IDLen {
		return session.Session{}, false, nil // not one of ours: no need to ask
	}
	key := s.c.key(sessionsStore, hashed(id))
	value, err := s.c.rdb.Get(ctx, key).Result()
	switch {
	case errors.Is(err, redis.Nil):
		return session.Session{}, false, nil
	case err != nil:
		return session.Session{}, false, s.c.failed(ctx, sessionsStore, err)
	}
	sess, ok := s.open(key, value)
	if !ok || !sess.ExpiresAt.After(s.now()) {
		return session.Session{}, false, nil
	}
	return sess, true, nil
}

// Delete ends the session of id.
func (s *Sessions) Delete(ctx context.Context, id string) error {
	if len(id) != session.IDLen {
		return nil
	}
	if err := s.c.rdb.Del(ctx, s.c.key(sessionsStore, hashed(id))).Err(); err != nil {
		return s.c.failed(ctx, sessionsStore, err)
	}
	return nil
}

// seal returns "keyID.base64(nonce|ciphertext)" of sess, bound to key.
func (s *Sessions) seal(key string, sess session.Session) (string, error) {
	plain, err := json.Marshal(sealed{Token: sess.Token, UserID: sess.UserID, Role: sess.Role, ExpiresAt: sess.ExpiresAt})
	if err != nil {
		return "", fmt.Errorf("redis sessions: %w", err)
	}
	aead := s.aeads[s.newest]
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("redis sessions: nonce: %w", err)
	}
	box := aead.Seal(nonce, nonce, plain, []byte(key))
	return s.newest + "." + base64.RawStdEncoding.EncodeToString(box), nil
}

// open reverses seal.
func (s *Sessions) open(key, value string) (session.Session, bool) {
	keyID, encoded, ok := strings.Cut(value, ".")
	aead, known := s.aeads[keyID]
	if !ok || !known {
		return session.Session{}, false
	}
	box, err := base64.RawStdEncoding.DecodeString(encoded)
	if err != nil || len(box) < aead.NonceSize() {
		return session.Session{}, false
	}
	plain, err := aead.Open(nil, box[:aead.NonceSize()], box[aead.NonceSize():], []byte(key))
	if err != nil {
		return session.Session{}, false
	}
	var v sealed
	if err := json.Unmarshal(plain, &v); err != nil {
		return session.Session{}, false
	}
	return session.Session{Token: v.Token, UserID: v.UserID, Role: v.Role, ExpiresAt: v.ExpiresAt}, true
}
