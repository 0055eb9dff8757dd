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

// sealed is what a session's value holds, before sealing. A session
// written before refresh tokens has none: it ends with its token.
type sealed struct {
	Token          string    `json:"t"`
	TokenIssuedAt  time.Time `json:"ti,omitzero"`
	TokenExpiresAt time.Time `json:"te,omitzero"`
	RefreshToken   string    `json:"rt,omitempty"`
	UserID         string    `json:"u"`
	Role           string    `json:"r"`
	ExpiresAt      time.Time `json:"e"`
}

// userKey is the key of the set of a user's sessions (the hashes of their
// ids), for DeleteUser.
func (s *Sessions) userKey(userID string) string {
	return s.c.key(sessionsStore, "user:"+hashed(userID))
}

// indexTTL is how long a user's set of sessions is kept after its last
// change: as long as the longest of the sessions it lists can last (the
// set may name sessions already gone; deleting those is harmless).
func indexTTL(ttl time.Duration) time.Duration { return ttl + time.Minute }

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
		ttl := sess.ExpiresAt.Sub(now)
		ok, err := s.c.rdb.SetNX(ctx, key, value, ttl).Result()
		if err != nil {
			return "", s.c.failed(ctx, sessionsStore, err)
		}
		if !ok {
			continue
		}
		if err := s.index(ctx, sess.UserID, id, ttl); err != nil {
			// Not indexed, it could outlive a sign-out everywhere: undo.
			_ = s.c.rdb.Del(context.WithoutCancel(ctx), key).Err()
			return "", err
		}
		return id, nil
	}
	return "", errors.New("redis sessions: three random ids in a row were taken")
}

// index lists session id under its user, for DeleteUser.
func (s *Sessions) index(ctx context.Context, userID, id string, ttl time.Duration) error {
	pipe := s.c.rdb.Pipeline()
	pipe.SAdd(ctx, s.userKey(userID), hashed(id))
	pipe.Expire(ctx, s.userKey(userID), indexTTL(ttl))
	if _, err := pipe.Exec(ctx); err != nil {
		return s.c.failed(ctx, sessionsStore, err)
	}
	return nil
}

// Update replaces the session of id with sess, if it is still there, in
// one round trip (the value only if it exists, its user's set renewed).
func (s *Sessions) Update(ctx context.Context, id string, sess session.Session) (bool, error) {
	now := s.now()
	if err := session.Validate(sess, now); err != nil {
		return false, err
	}
	if len(id) != session.IDLen {
		return false, nil
	}
	key := s.c.key(sessionsStore, hashed(id))
	value, err := s.seal(key, sess)
	if err != nil {
		return false, err
	}
	ttl := sess.ExpiresAt.Sub(now)
	pipe := s.c.rdb.TxPipeline()
	set := pipe.SetArgs(ctx, key, value, redis.SetArgs{Mode: "XX", TTL: ttl})
	pipe.SAdd(ctx, s.userKey(sess.UserID), hashed(id))
	pipe.Expire(ctx, s.userKey(sess.UserID), indexTTL(ttl))
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return false, s.c.failed(ctx, sessionsStore, err)
	}
	return set.Val() == "OK", nil
}

// DeleteUser ends every session of userID: those its set lists.
func (s *Sessions) DeleteUser(ctx context.Context, userID string) (int, error) {
	members, err := s.c.rdb.SMembers(ctx, s.userKey(userID)).Result()
	if err != nil {
		return 0, s.c.failed(ctx, sessionsStore, err)
	}
	keys := make([]string, 0, len(members)+1)
	for _, m := range members {
		keys = append(keys, s.c.key(sessionsStore, m))
	}
	keys = append(keys, s.userKey(userID))
	n, err := s.c.rdb.Del(ctx, keys...).Result()
	if err != nil {
		return 0, s.c.failed(ctx, sessionsStore, err)
	}
	return max(int(n)-1, 0), nil // the set itself is not a session
}

// TryLock takes the lock of session id for at most ttl, so that one
// replica alone renews its tokens; ok is false when another holds it.
// release gives it back (only if still ours).
func (s *Sessions) TryLock(ctx context.Context, id string, ttl time.Duration) (release func(), ok bool, err error) {
	key := s.c.key(sessionsStore, "lock:"+hashed(id))
	owner, err := session.NewID()
	if err != nil {
		return nil, false, err
	}
	ok, err = s.c.rdb.SetNX(ctx, key, owner, ttl).Result()
	if err != nil {
		return nil, false, s.c.failed(ctx, sessionsStore, err)
	}
	if !ok {
		return nil, false, nil
	}
	return func() {
		_ = unlock.Run(context.WithoutCancel(ctx), s.c.rdb, []string{key}, owner).Err()
	}, true, nil
}

// unlock deletes KEYS[1] if it still holds ARGV[1].
var unlock = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`)

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
	plain, err := json.Marshal(sealed{
		Token: sess.Token, TokenIssuedAt: sess.TokenIssuedAt, TokenExpiresAt: sess.TokenExpiresAt,
		RefreshToken: sess.RefreshToken, UserID: sess.UserID, Role: sess.Role, ExpiresAt: sess.ExpiresAt,
	})
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
	return session.Session{
		Token: v.Token, TokenIssuedAt: v.TokenIssuedAt, TokenExpiresAt: v.TokenExpiresAt,
		RefreshToken: v.RefreshToken, UserID: v.UserID, Role: v.Role, ExpiresAt: v.ExpiresAt,
	}, true
}
