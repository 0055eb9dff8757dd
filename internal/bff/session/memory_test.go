package session

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/acme/bff-gateway/internal/fakeclock"
)

// clock is the shared manually advanced test clock.
type clock = fakeclock.Clock

func newClock() *clock { return fakeclock.New(time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)) }

func sess(user string, expires time.Time) Session {
	return Session{Token: "tok-" + user, UserID: user, Role: "customer", ExpiresAt: expires}
}

func mustCreate(t *testing.T, s Store, v Session) string {
	t.Helper()
	id, err := s.Create(context.Background(), v)
	if err != nil {
		t.Fatalf("Create(%+v): %v", v, err)
	}
	return id
}

func mustGet(t *testing.T, s Store, id string) (Session, bool) {
	t.Helper()
	v, ok, err := s.Get(context.Background(), id)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	return v, ok
}

func TestNewID(t *testing.T) {
	t.Parallel()
	if want := base64.RawURLEncoding.EncodedLen(IDBytes); IDLen != want {
		t.Fatalf("IDLen = %d, want %d", IDLen, want)
	}
	seen := map[string]bool{}
	for range 10_000 {
		id, err := NewID()
		if err != nil {
			t.Fatal(err)
		}
		if len(id) != IDLen {
			t.Fatalf("len(%q) = %d, want %d", id, len(id), IDLen)
		}
		raw, err := base64.RawURLEncoding.DecodeString(id)
		if err != nil || len(raw) != IDBytes {
			t.Fatalf("id %q does not decode to %d bytes: %v", id, IDBytes, err)
		}
		if seen[id] {
			t.Fatalf("duplicate id %q", id)
		}
		seen[id] = true
	}
}

func TestCreateGetDelete(t *testing.T) {
	t.Parallel()
	clk := newClock()
	s := NewMemoryStore(10, clk.Now)
	ctx := context.Background()
	want := sess("u1", clk.Now().Add(time.Hour))

	id := mustCreate(t, s, want)
	if len(id) != IDLen {
		t.Errorf("id length = %d, want %d", len(id), IDLen)
	}
	got, ok := mustGet(t, s, id)
	if !ok || got != want {
		t.Fatalf("Get = %+v, %v; want %+v, true", got, ok, want)
	}

	other := mustCreate(t, s, sess("u2", clk.Now().Add(time.Hour)))
	if other == id {
		t.Fatal("two sessions share an id")
	}

	if err := s.Delete(ctx, id); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, ok := mustGet(t, s, id); ok {
		t.Error("session found after Delete")
	}
	if err := s.Delete(ctx, id); err != nil {
		t.Errorf("second Delete: %v", err)
	}
	if _, ok := mustGet(t, s, other); !ok {
		t.Error("Delete removed another session")
	}
	if got := s.Len(); got != 1 {
		t.Errorf("Len = %d, want 1", got)
	}
}

func TestGetUnknown(t *testing.T) {
	t.Parallel()
	clk := newClock()
	s := NewMemoryStore(10, clk.Now)
	id := mustCreate(t, s, sess("u1", clk.Now().Add(time.Hour)))
	unknown, _ := NewID()
	for _, tc := range []struct{ name, id string }{
		{"empty", ""},
		{"unknown", unknown},
		{"prefix", id[:IDLen-1]},
		{"longer", id + "A"},
		{"huge", strings.Repeat("A", 1<<16)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if v, ok := mustGet(t, s, tc.id); ok || v != (Session{}) {
				t.Errorf("Get = %+v, %v; want zero, false", v, ok)
			}
		})
	}
	if err := s.Delete(context.Background(), unknown); err != nil {
		t.Errorf("Delete(unknown): %v", err)
	}
}

func TestCreateRejectsInvalid(t *testing.T) {
	t.Parallel()
	clk := newClock()
	now := clk.Now()
	tests := []struct {
		name string
		s    Session
	}{
		{"no token", Session{UserID: "u", ExpiresAt: now.Add(time.Hour)}},
		{"expires now", Session{Token: "t", ExpiresAt: now}},
		{"expired", Session{Token: "t", ExpiresAt: now.Add(-time.Second)}},
		{"zero expiry", Session{Token: "t"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewMemoryStore(10, clk.Now)
			id, err := s.Create(context.Background(), tt.s)
			if !errors.Is(err, ErrInvalid) || id != "" {
				t.Errorf("Create = %q, %v; want ErrInvalid", id, err)
			}
			if s.Len() != 0 {
				t.Error("invalid session stored")
			}
		})
	}
}

func TestExpiry(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		advance time.Duration
		want    bool
	}{
		{"just created", 0, true},
		{"one nanosecond before", time.Hour - time.Nanosecond, true},
		{"at expiry", time.Hour, false},
		{"long after", 48 * time.Hour, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clk := newClock()
			s := NewMemoryStore(10, clk.Now)
			id := mustCreate(t, s, sess("u", clk.Now().Add(time.Hour)))
			clk.Advance(tt.advance)
			if _, ok := mustGet(t, s, id); ok != tt.want {
				t.Errorf("found = %v, want %v", ok, tt.want)
			}
			// An expired session is dropped when seen.
			wantLen := 0
			if tt.want {
				wantLen = 1
			}
			if got := s.Len(); got != wantLen {
				t.Errorf("Len = %d, want %d", got, wantLen)
			}
		})
	}
}

func TestBoundEvictsExpiredFirstThenOldest(t *testing.T) {
	t.Parallel()
	hour := time.Hour
	tests := []struct {
		name    string
		expires []time.Duration // of the sessions filling the store, in creation order
		advance time.Duration   // before the extra Create
		evicted int             // index of the session evicted by the extra Create
	}{
		{name: "none expired: oldest goes", expires: []time.Duration{3 * hour, hour, 2 * hour}, evicted: 0},
		{name: "newest expired goes before oldest", expires: []time.Duration{3 * hour, 2 * hour, hour}, advance: hour, evicted: 2},
		{name: "middle expired", expires: []time.Duration{3 * hour, hour, 2 * hour}, advance: hour + time.Minute, evicted: 1},
		{name: "several expired: soonest goes", expires: []time.Duration{3 * hour, 2 * hour, hour}, advance: 150 * time.Minute, evicted: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clk := newClock()
			start := clk.Now()
			s := NewMemoryStore(len(tt.expires), clk.Now)
			ids := make([]string, len(tt.expires))
			for i, d := range tt.expires {
				ids[i] = mustCreate(t, s, sess(fmt.Sprint("u", i), start.Add(d)))
			}
			clk.Advance(tt.advance)
			extra := mustCreate(t, s, sess("extra", clk.Now().Add(5*hour)))
			if got := s.Len(); got != len(tt.expires) {
				t.Fatalf("Len = %d, want %d", got, len(tt.expires))
			}
			if _, ok := s.byID[ids[tt.evicted]]; ok {
				t.Errorf("session %d was not evicted", tt.evicted)
			}
			for i, id := range ids {
				if _, ok := s.byID[id]; !ok && i != tt.evicted {
					t.Errorf("session %d was evicted, want %d", i, tt.evicted)
				}
			}
			if _, ok := mustGet(t, s, extra); !ok {
				t.Error("new session not stored")
			}
			checkInvariants(t, s)
		})
	}
}

func TestBoundUnderChurn(t *testing.T) {
	t.Parallel()
	clk := newClock()
	const limit = 5
	s := NewMemoryStore(limit, clk.Now)
	var ids []string
	for i := range 50 {
		ids = append(ids, mustCreate(t, s, sess(fmt.Sprint(i), clk.Now().Add(time.Duration(i%7+1)*time.Minute))))
		if i%3 == 0 {
			_ = s.Delete(context.Background(), ids[i/2])
		}
		clk.Advance(20 * time.Second)
		if got := s.Len(); got > limit {
			t.Fatalf("Len = %d after %d creates, want <= %d", got, i+1, limit)
		}
		checkInvariants(t, s)
	}
	// The last session created is always kept.
	if _, ok := mustGet(t, s, ids[len(ids)-1]); !ok {
		t.Error("newest session missing")
	}
}

func TestBoundMustBePositive(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, -1} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("NewMemoryStore(%d) did not panic", n)
				}
			}()
			NewMemoryStore(n, nil)
		}()
	}
	s := NewMemoryStore(1, nil) // real clock
	id := mustCreate(t, s, sess("u", time.Now().Add(time.Hour)))
	if _, ok := mustGet(t, s, id); !ok {
		t.Error("session not found with the real clock")
	}
}

func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	clk := newClock()
	const limit = 50
	s := NewMemoryStore(limit, clk.Now)
	ctx := context.Background()
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Go(func() {
			for i := range 300 {
				// Other workers advance the clock, so a short-lived session
				// may expire before Create sees it: ErrInvalid is fine then.
				v := sess(fmt.Sprint(w, "-", i), clk.Now().Add(time.Duration(i%30+1)*time.Second))
				id, err := s.Create(ctx, v)
				if errors.Is(err, ErrInvalid) {
					continue
				}
				if err != nil {
					t.Errorf("Create: %v", err)
					return
				}
				if got, ok, err := s.Get(ctx, id); err != nil || (ok && got != v) {
					t.Errorf("Get = %+v, %v, %v; want %+v", got, ok, err, v)
				}
				if i%4 == 0 {
					if err := s.Delete(ctx, id); err != nil {
						t.Errorf("Delete: %v", err)
					}
				}
				if i%25 == 0 {
					clk.Advance(time.Second)
				}
				if n := s.Len(); n > limit {
					t.Errorf("Len = %d, want <= %d", n, limit)
				}
			}
		})
	}
	wg.Wait()
	checkInvariants(t, s)
}

// checkInvariants verifies that the three indexes agree.
func checkInvariants(t *testing.T, s *MemoryStore) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.byID) != s.byAge.Len() || len(s.byID) != len(s.byExpiry) {
		t.Fatalf("index sizes differ: byID %d, byAge %d, byExpiry %d", len(s.byID), s.byAge.Len(), len(s.byExpiry))
	}
	for i, e := range s.byExpiry {
		if e.index != i {
			t.Fatalf("heap entry %d has index %d", i, e.index)
		}
		if s.byID[e.id] != e {
			t.Fatalf("heap entry %d not in byID", i)
		}
		if i > 0 && s.byExpiry.Less(i, (i-1)/2) {
			t.Fatalf("heap order broken at %d", i)
		}
	}
	for el := s.byAge.Front(); el != nil; el = el.Next() {
		if s.byID[el.Value.(*memEntry).id] != el.Value {
			t.Fatal("age list entry not in byID")
		}
	}
}

func TestUpdateRenewsAndExtends(t *testing.T) {
	c := newClock()
	m := NewMemoryStore(10, c.Now)
	ctx := context.Background()
	id := mustCreate(t, m, sess("usr_a", c.Now().Add(time.Minute)))

	renewed := sess("usr_a", c.Now().Add(time.Hour))
	renewed.Token, renewed.RefreshToken = "tok-2", "rt-2"
	if ok, err := m.Update(ctx, id, renewed); err != nil || !ok {
		t.Fatalf("Update = %v, %v; want true", ok, err)
	}
	c.Advance(30 * time.Minute) // past the first expiry, within the new one
	if got, ok := mustGet(t, m, id); !ok || got.Token != "tok-2" || got.RefreshToken != "rt-2" {
		t.Fatalf("after Update and 30 min: %+v, %v; want the renewed session", got, ok)
	}
	// The expiry index follows: the session expires at its new end.
	c.Advance(31 * time.Minute)
	if _, ok := mustGet(t, m, id); ok {
		t.Error("the renewed session outlived its new end")
	}
	// A session gone (ended meanwhile) is not brought back.
	if ok, err := m.Update(ctx, id, sess("usr_a", c.Now().Add(time.Hour))); err != nil || ok {
		t.Errorf("Update of an ended session = %v, %v; want false, nil", ok, err)
	}
	// Nor may a session change users, or be renewed already expired.
	other := mustCreate(t, m, sess("usr_a", c.Now().Add(time.Hour)))
	if ok, err := m.Update(ctx, other, sess("usr_b", c.Now().Add(time.Hour))); ok || !errors.Is(err, ErrInvalid) {
		t.Errorf("Update to another user = %v, %v; want ErrInvalid", ok, err)
	}
	if ok, err := m.Update(ctx, other, sess("usr_a", c.Now())); ok || !errors.Is(err, ErrInvalid) {
		t.Errorf("Update to an expired session = %v, %v; want ErrInvalid", ok, err)
	}
}

func TestDeleteUserEndsOnlyThatUsersSessions(t *testing.T) {
	c := newClock()
	m := NewMemoryStore(10, c.Now)
	ctx := context.Background()
	a1 := mustCreate(t, m, sess("usr_a", c.Now().Add(time.Hour)))
	a2 := mustCreate(t, m, sess("usr_a", c.Now().Add(time.Hour)))
	b := mustCreate(t, m, sess("usr_b", c.Now().Add(time.Hour)))
	if n, err := m.DeleteUser(ctx, "usr_a"); err != nil || n != 2 {
		t.Fatalf("DeleteUser = %d, %v; want 2", n, err)
	}
	for _, id := range []string{a1, a2} {
		if _, ok := mustGet(t, m, id); ok {
			t.Error("a session of usr_a outlived DeleteUser")
		}
	}
	if _, ok := mustGet(t, m, b); !ok {
		t.Error("DeleteUser of usr_a ended usr_b's session")
	}
	if n, err := m.DeleteUser(ctx, "usr_a"); err != nil || n != 0 {
		t.Errorf("DeleteUser again = %d, %v; want 0", n, err)
	}
	// Sessions deleted one by one or evicted leave no trace in the index.
	if m.Len() != 1 || len(m.byUser) != 1 {
		t.Errorf("%d sessions, %d users indexed; want 1 and 1", m.Len(), len(m.byUser))
	}
}
