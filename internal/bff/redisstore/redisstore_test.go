package redisstore_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/acme/bff-gateway/internal/bff/cache"
	"github.com/acme/bff-gateway/internal/bff/guard"
	"github.com/acme/bff-gateway/internal/bff/ratelimit"
	"github.com/acme/bff-gateway/internal/bff/redisstore"
	"github.com/acme/bff-gateway/internal/bff/session"
	"github.com/acme/bff-gateway/internal/e2e/cluster"
)

// open returns a client of the Redis at url with prefix, closed with the
// test, and the failures its stores report.
func open(t *testing.T, url, prefix string) (*redisstore.Client, *failures) {
	t.Helper()
	c, err := redisstore.Open(redisstore.Options{URL: url, Timeout: 250 * time.Millisecond, Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	f := &failures{}
	c.Observe(func(string, time.Duration, error) { f.trips.Add(1) }, f.report)
	return c, f
}

type failures struct {
	mu     sync.Mutex
	stores []string
	trips  atomic.Int64
}

func (f *failures) report(_ context.Context, store string, _ error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stores = append(f.stores, store)
}

func (f *failures) take() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.stores
	f.stores = nil
	return s
}

// raw is a plain client of the test's Redis, to look at what the stores
// wrote.
func raw(t *testing.T, url string) *redis.Client {
	t.Helper()
	o, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(o)
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

func key(id string, secret byte) redisstore.SessionKey {
	return redisstore.SessionKey{ID: id, Secret: []byte(strings.Repeat(string(secret), 32))}
}

func TestSessions(t *testing.T) {
	t.Parallel()
	rds := cluster.StartRedis(t)
	ctx := t.Context()
	replicaA, _ := open(t, rds.URL(), "bff-web")
	replicaB, _ := open(t, rds.URL(), "bff-web")
	k1, k2 := key("k1", 'a'), key("k2", 'b')
	a, err := redisstore.NewSessions(replicaA, []redisstore.SessionKey{k1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	const token = "eyJhbGciOiJSUzI1NiJ9.payload.signature"
	want := session.Session{Token: token, UserID: "usr_1", Role: "customer", ExpiresAt: time.Now().Add(time.Hour).Truncate(time.Second)}
	id, err := a.Create(ctx, want)
	if err != nil {
		t.Fatal(err)
	}

	// Another replica, whose newest key is k2 but which still has k1,
	// opens it.
	b, err := redisstore.NewSessions(replicaB, []redisstore.SessionKey{k2, k1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, ok, err := b.Get(ctx, id)
	if err != nil || !ok || got.Token != want.Token || got.UserID != want.UserID || got.Role != want.Role || !got.ExpiresAt.Equal(want.ExpiresAt) {
		t.Fatalf("replica B's Get = %+v, %v, %v; want %+v", got, ok, err, want)
	}
	// What Redis holds: neither the id nor the token, in keys or values;
	// an expiry at the session's end.
	rdb := raw(t, rds.URL())
	keys, err := rdb.Keys(ctx, "*").Result()
	slices.Sort(keys) // the session, then its user's index
	if err != nil || len(keys) != 2 || !strings.HasPrefix(keys[0], "bff-web:v1:session:") ||
		!strings.HasPrefix(keys[1], "bff-web:v1:session:user:") {
		t.Fatalf("keys %q, %v: want a bff-web:v1:session: key and its user's index", keys, err)
	}
	for _, k := range keys {
		if strings.Contains(k, id) || strings.Contains(k, "usr_1") {
			t.Errorf("key %q holds the session id or the user id", k)
		}
	}
	if members := rdb.SMembers(ctx, keys[1]).Val(); len(members) != 1 || strings.Contains(members[0], id) {
		t.Errorf("the user's index holds %q: want one member, not the id itself", members)
	}
	value, _ := rdb.Get(ctx, keys[0]).Result()
	if strings.Contains(value, token) || strings.Contains(value, "usr_1") || !strings.HasPrefix(value, "k1.") {
		t.Errorf("the value %q is not sealed by k1", value)
	}
	if ttl := rdb.TTL(ctx, keys[0]).Val(); ttl <= 59*time.Minute || ttl > time.Hour {
		t.Errorf("TTL %s, want the session's hour", ttl)
	}

	// A session sealed by k2 (B's newest) is opened by B, not by A.
	id2, err := b.Create(ctx, want)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := a.Get(ctx, id2); ok {
		t.Error("replica A, without k2, opened a session sealed by k2")
	}
	if _, ok, _ := b.Get(ctx, id2); !ok {
		t.Error("replica B did not open its own session")
	}

	// A sealed value moved under another session's key does not open.
	// (The other session's key, not the user's index: KEYS answers in
	// no particular order.)
	key2 := ""
	for _, k := range rdb.Keys(ctx, "bff-web:v1:session:*").Val() {
		if k != keys[0] && !strings.HasPrefix(k, "bff-web:v1:session:user:") {
			key2 = k
		}
	}
	if key2 == "" {
		t.Fatal("the second session has no key")
	}
	rdb.Set(ctx, key2, value, time.Hour)
	if _, ok, _ := b.Get(ctx, id2); ok {
		t.Error("a value moved to another id opened")
	}
	// Tampered with, it does not either.
	rdb.Set(ctx, keys[0], value[:len(value)-2]+"AA", time.Hour)
	if _, ok, _ := a.Get(ctx, id); ok {
		t.Error("a tampered value opened")
	}

	// Delete ends it for every replica; unknown and malformed ids are
	// simply not there.
	if err := b.Delete(ctx, id2); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := b.Get(ctx, id2); ok {
		t.Error("a deleted session is still there")
	}
	for _, bad := range []string{"", "short", strings.Repeat("x", session.IDLen)} {
		if _, ok, err := a.Get(ctx, bad); ok || err != nil {
			t.Errorf("Get(%q) = %v, %v", bad, ok, err)
		}
	}
	// An expired or tokenless session is refused as the memory store does.
	if _, err := a.Create(ctx, session.Session{Token: "t", ExpiresAt: time.Now().Add(-time.Second)}); !errors.Is(err, session.ErrInvalid) {
		t.Errorf("an expired session: %v, want ErrInvalid", err)
	}
}

// TestRateLimitsAreExactAcrossReplicas: three replicas taking at once
// from one bucket of 50 (refilling one a minute) get exactly 50.
func TestRateLimitsAreExactAcrossReplicas(t *testing.T) {
	t.Parallel()
	rds := cluster.StartRedis(t)
	l := ratelimit.Limit{Rate: 1.0 / 60, Burst: 50}
	var allowed atomic.Int64
	var wg sync.WaitGroup
	for range 3 {
		c, _ := open(t, rds.URL(), "bff-web")
		store := redisstore.NewRateLimits(c)
		for range 4 {
			wg.Go(func() {
				for range 25 {
					d, err := store.Take(t.Context(), "user:usr_1", 1, l)
					if err != nil {
						t.Error(err)
						return
					}
					if d.Allowed {
						allowed.Add(1)
					} else if d.RetryAfter <= 0 || d.RetryAfterSeconds() > 60 {
						t.Errorf("a refusal with Retry-After %s", d.RetryAfter)
					}
				}
			})
		}
	}
	wg.Wait()
	if got := allowed.Load(); got != 50 {
		t.Errorf("%d of 300 takes allowed across 3 replicas, want exactly the burst of 50", got)
	}
	// A take costing more than one token, and what the decision says.
	c, _ := open(t, rds.URL(), "bff-web")
	store := redisstore.NewRateLimits(c)
	big := ratelimit.Limit{Rate: 10, Burst: 100}
	d, err := store.Take(t.Context(), "user:usr_2", 60, big)
	if err != nil || !d.Allowed || d.Remaining != 40 || d.Limit != 100 {
		t.Errorf("take 60 of 100: %+v %v; want allowed, 40 remaining", d, err)
	}
	d, _ = store.Take(t.Context(), "user:usr_2", 60, big)
	if d.Allowed || d.RetryAfter < 1900*time.Millisecond || d.RetryAfter > 2100*time.Millisecond {
		t.Errorf("take 60 more: %+v; want refused, retry after about 2 s (20 tokens short at 10 a second)", d)
	}
	// No key holds the bucket's name.
	for _, k := range raw(t, rds.URL()).Keys(t.Context(), "*").Val() {
		if strings.Contains(k, "usr_") || !strings.Contains(k, "bff-web:v1:ratelimit:") {
			t.Errorf("key %q", k)
		}
	}
}

func TestAPQIsBounded(t *testing.T) {
	t.Parallel()
	rds := cluster.StartRedis(t)
	c, _ := open(t, rds.URL(), "bff-web")
	apq := redisstore.NewAPQ(c, redisstore.APQLimits{TTLSeconds: 3600, MaxEntries: 3, MaxBytes: 100})
	ctx := t.Context()
	docs := []string{"query A { a }", "query B { b }", "query C { c }", "query D { d }"}
	for _, d := range docs {
		if err := apq.Add(ctx, guard.Hash(d), d); err != nil {
			t.Fatal(err)
		}
	}
	for i, d := range docs {
		text, ok, err := apq.Get(ctx, guard.Hash(d))
		if err != nil || ok != (i > 0) || (ok && text != d) {
			t.Errorf("doc %d: %q %v %v; want the oldest dropped, the 3 newest kept", i, text, ok, err)
		}
	}
	// Bytes: one document of 91 bytes leaves room for no other.
	long := "query L { " + strings.Repeat("x ", 40) + "}"
	if err := apq.Add(ctx, guard.Hash(long), long); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := apq.Get(ctx, guard.Hash(docs[3])); ok {
		t.Error("over 100 bytes held")
	}
	if text, ok, _ := apq.Get(ctx, guard.Hash(long)); !ok || text != long {
		t.Error("the newest document was dropped")
	}
	// Over the bound alone: not kept.
	huge := strings.Repeat("y", 101)
	_ = apq.Add(ctx, guard.Hash(huge), huge)
	if _, ok, _ := apq.Get(ctx, guard.Hash(huge)); ok {
		t.Error("a document over the byte bound was kept")
	}
	rdb := raw(t, rds.URL())
	if n, _ := rdb.Get(ctx, "bff-web:v1:apq:bytes").Int(); n != len(long) {
		t.Errorf("bytes counted %d, want %d", n, len(long))
	}
	if ttl := rdb.TTL(ctx, "bff-web:v1:apq:doc:"+guard.Hash(long)).Val(); ttl <= 59*time.Minute || ttl > time.Hour {
		t.Errorf("a document's TTL %s, want the hour configured", ttl)
	}
}

func TestLevel2KeepsWhenValuesWereFetched(t *testing.T) {
	t.Parallel()
	rds := cluster.StartRedis(t)
	c, _ := open(t, rds.URL(), "bff-mobile")
	l2 := redisstore.NewLevel2[[]string](c, "lists")
	fetched := time.Now().Add(-12 * time.Second).Truncate(time.Millisecond)
	err := l2.Set(t.Context(), map[string]cache.Stored[[]string]{"featured:6": {Value: []string{"p1", "p2"}, FetchedAt: fetched}}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	got, err := l2.Get(t.Context(), []string{"featured:6", "featured:4"})
	if err != nil || len(got) != 1 || len(got["featured:6"].Value) != 2 || !got["featured:6"].FetchedAt.Equal(fetched) {
		t.Errorf("Get = %+v, %v; want featured:6 as set, fetched %s", got, err, fetched)
	}
	if ttl := raw(t, rds.URL()).TTL(t.Context(), "bff-mobile:v1:lists:featured:6").Val(); ttl <= 50*time.Second || ttl > time.Minute {
		t.Errorf("TTL %s, want the minute given", ttl)
	}
}

// TestRedisDownAndBack: with Redis stopped every store fails at once,
// reporting which; started again on the same port, the same clients work
// again by themselves.
func TestRedisDownAndBack(t *testing.T) {
	rds := cluster.StartRedis(t)
	c, f := open(t, rds.URL(), "bff-web")
	sessions, err := redisstore.NewSessions(c, []redisstore.SessionKey{key("k1", 'a')}, nil)
	if err != nil {
		t.Fatal(err)
	}
	rates := redisstore.NewRateLimits(c)
	apq := redisstore.NewAPQ(c, redisstore.APQLimits{TTLSeconds: 60, MaxEntries: 10, MaxBytes: 1000})
	products := redisstore.NewLevel2[string](c, "products")
	ctx := t.Context()
	use := func() []error {
		var errs []error
		_, err := sessions.Create(ctx, session.Session{Token: "t", ExpiresAt: time.Now().Add(time.Hour)})
		errs = append(errs, err)
		_, err = rates.Take(ctx, "ip:127.0.0.1", 1, ratelimit.Limit{Rate: 10, Burst: 10})
		errs = append(errs, err)
		errs = append(errs, apq.Add(ctx, guard.Hash("{ a }"), "{ a }"))
		_, err = products.Get(ctx, []string{"prd_1"})
		errs = append(errs, err)
		return errs
	}
	for _, err := range use() {
		if err != nil {
			t.Fatalf("with Redis up: %v", err)
		}
	}

	rds.Stop()
	start := time.Now()
	for i, err := range use() {
		if err == nil {
			t.Errorf("call %d succeeded with Redis down", i)
		}
	}
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Errorf("four calls with Redis down took %s: not bounded by the timeout", elapsed)
	}
	if got := f.take(); strings.Join(got, ",") != "session,ratelimit,apq,products" {
		t.Errorf("failures reported for %v, want each store once", got)
	}

	if err := rds.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		errs := use()
		if errors.Join(errs...) == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Redis back, the stores still fail: %v", errs)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if st := c.PoolStats(); st.TotalConns > 10 {
		t.Errorf("%d connections after the outage: a leak", st.TotalConns)
	}
}

// TestSessionsRenewLockAndSignOutEverywhere covers what refresh tokens
// need of the shared store: a renewal written by one replica is what the
// other reads, with the session's new end; one replica at a time holds a
// session's lock; a user's sessions all end at once.
func TestSessionsRenewLockAndSignOutEverywhere(t *testing.T) {
	t.Parallel()
	rds := cluster.StartRedis(t)
	ctx := t.Context()
	ca, _ := open(t, rds.URL(), "bff-web")
	cb, _ := open(t, rds.URL(), "bff-web")
	a, err := redisstore.NewSessions(ca, []redisstore.SessionKey{key("k1", 'a')}, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := redisstore.NewSessions(cb, []redisstore.SessionKey{key("k1", 'a')}, nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().Truncate(time.Second)
	first := session.Session{Token: "t1", RefreshToken: "rt-secret-1", TokenIssuedAt: now, TokenExpiresAt: now.Add(time.Minute),
		UserID: "usr_1", Role: "customer", ExpiresAt: now.Add(time.Minute)}
	id, err := a.Create(ctx, first)
	if err != nil {
		t.Fatal(err)
	}
	renewed := first
	renewed.Token, renewed.RefreshToken, renewed.ExpiresAt = "t2", "rt-secret-2", now.Add(2*time.Hour)
	if ok, err := a.Update(ctx, id, renewed); err != nil || !ok {
		t.Fatalf("Update = %v, %v", ok, err)
	}
	got, ok, err := b.Get(ctx, id)
	if err != nil || !ok || got.Token != "t2" || got.RefreshToken != "rt-secret-2" || !got.TokenExpiresAt.Equal(first.TokenExpiresAt) {
		t.Fatalf("the other replica reads %+v, %v, %v; want the renewed session", got, ok, err)
	}
	rdb := raw(t, rds.URL())
	for _, k := range rdb.Keys(ctx, "*").Val() {
		if v := rdb.Get(ctx, k).Val(); strings.Contains(v, "rt-secret") {
			t.Errorf("%s holds a refresh token in clear", k)
		}
		if !strings.Contains(k, ":user:") {
			if ttl := rdb.TTL(ctx, k).Val(); ttl <= time.Hour {
				t.Errorf("the renewed session's TTL is %s; want its new end, 2 h", ttl)
			}
		}
	}

	// The lock: one holder at a time; released, it can be taken again.
	release, ok, err := a.TryLock(ctx, id, 5*time.Second)
	if err != nil || !ok {
		t.Fatalf("TryLock = %v, %v", ok, err)
	}
	if _, ok, err := b.TryLock(ctx, id, 5*time.Second); err != nil || ok {
		t.Fatalf("a second TryLock = %v, %v; want false", ok, err)
	}
	release()
	releaseB, ok, err := b.TryLock(ctx, id, 5*time.Second)
	if err != nil || !ok {
		t.Fatalf("TryLock after release = %v, %v", ok, err)
	}
	release() // a stale release must not free b's lock
	if _, ok, _ := a.TryLock(ctx, id, 5*time.Second); ok {
		t.Error("a stale release freed another holder's lock")
	}
	releaseB()

	// Sign-out everywhere: every session of usr_1 ends, not usr_2's.
	id2, err := b.Create(ctx, first)
	if err != nil {
		t.Fatal(err)
	}
	other := first
	other.UserID = "usr_2"
	id3, err := b.Create(ctx, other)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := a.DeleteUser(ctx, "usr_1"); err != nil || n != 2 {
		t.Fatalf("DeleteUser = %d, %v; want 2", n, err)
	}
	for _, gone := range []string{id, id2} {
		if _, ok, _ := b.Get(ctx, gone); ok {
			t.Error("a session of usr_1 outlived DeleteUser")
		}
	}
	if _, ok, _ := b.Get(ctx, id3); !ok {
		t.Error("DeleteUser of usr_1 ended usr_2's session")
	}
	// A session gone is not brought back by a late renewal.
	if ok, err := a.Update(ctx, id, renewed); err != nil || ok {
		t.Errorf("Update of an ended session = %v, %v; want false", ok, err)
	}
}
