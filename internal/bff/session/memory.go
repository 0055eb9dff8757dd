package session

import (
	"container/heap"
	"container/list"
	"context"
	"fmt"
	"sync"
	"time"
)

var _ Store = (*MemoryStore)(nil)

// MemoryStore is a bounded, in-process Store. When full, Create evicts an
// expired session if there is one, else the oldest (first created). It suits
// a single replica; sessions are lost on restart. It is safe for concurrent
// use.
type MemoryStore struct {
	max int
	now func() time.Time

	mu       sync.Mutex
	byID     map[string]*memEntry
	byUser   map[string]map[*memEntry]struct{}
	byAge    *list.List // of *memEntry, oldest first
	byExpiry expiryHeap // soonest expiry first
}

type memEntry struct {
	id      string
	session Session
	elem    *list.Element
	index   int // in byExpiry
}

// NewMemoryStore returns a MemoryStore holding at most maxSessions sessions.
// A nil now means time.Now. It panics if maxSessions is not positive
// (auth.max_sessions is checked when the configuration is loaded).
func NewMemoryStore(maxSessions int, now func() time.Time) *MemoryStore {
	if maxSessions <= 0 {
		panic("session: NewMemoryStore needs a positive number of sessions")
	}
	if now == nil {
		now = time.Now
	}
	return &MemoryStore{
		max:    maxSessions,
		now:    now,
		byID:   make(map[string]*memEntry),
		byUser: make(map[string]map[*memEntry]struct{}),
		byAge:  list.New(),
	}
}

// Create stores s under a new random id. It returns ErrInvalid for a session
// without a token or already expired.
func (m *MemoryStore) Create(_ context.Context, s Session) (string, error) {
	if err := Validate(s, m.now()); err != nil {
		return "", err
	}
	id, err := NewID()
	if err != nil {
		return "", err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, dup := m.byID[id]; dup {
		// 256 random bits do not collide; refuse rather than overwrite.
		return "", errDuplicateID
	}
	for len(m.byID) >= m.max {
		m.evictOne()
	}
	e := &memEntry{id: id, session: s}
	e.elem = m.byAge.PushBack(e)
	heap.Push(&m.byExpiry, e)
	m.byID[id] = e
	if m.byUser[s.UserID] == nil {
		m.byUser[s.UserID] = map[*memEntry]struct{}{}
	}
	m.byUser[s.UserID][e] = struct{}{}
	return id, nil
}

// Update replaces the session of id with s, if it is still there.
func (m *MemoryStore) Update(_ context.Context, id string, s Session) (bool, error) {
	if err := Validate(s, m.now()); err != nil {
		return false, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.byID[id]
	if !ok || !e.session.ExpiresAt.After(m.now()) {
		return false, nil
	}
	if e.session.UserID != s.UserID {
		return false, fmt.Errorf("%w: a session cannot change users", ErrInvalid)
	}
	e.session = s
	heap.Fix(&m.byExpiry, e.index)
	return true, nil
}

// DeleteUser ends every session of userID.
func (m *MemoryStore) DeleteUser(_ context.Context, userID string) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for e := range m.byUser[userID] {
		m.remove(e)
		n++
	}
	return n, nil
}

// Get returns the session for id; an unknown or expired id is not found.
func (m *MemoryStore) Get(_ context.Context, id string) (Session, bool, error) {
	if len(id) != IDLen {
		return Session{}, false, nil
	}
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.byID[id]
	if !ok {
		return Session{}, false, nil
	}
	if !e.session.ExpiresAt.After(now) {
		m.remove(e)
		return Session{}, false, nil
	}
	return e.session, true, nil
}

// Delete ends the session with id, if there is one.
func (m *MemoryStore) Delete(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if e, ok := m.byID[id]; ok {
		m.remove(e)
	}
	return nil
}

// Len returns the number of sessions held, expired ones not yet evicted
// included.
func (m *MemoryStore) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.byID)
}

// evictOne removes the session expiring soonest if it has expired, else the
// oldest. m.mu must be held and the store non-empty.
func (m *MemoryStore) evictOne() {
	if soonest := m.byExpiry[0]; !soonest.session.ExpiresAt.After(m.now()) {
		m.remove(soonest)
		return
	}
	m.remove(m.byAge.Front().Value.(*memEntry))
}

// remove drops e from every index. m.mu must be held.
func (m *MemoryStore) remove(e *memEntry) {
	delete(m.byID, e.id)
	if sessions := m.byUser[e.session.UserID]; sessions != nil {
		delete(sessions, e)
		if len(sessions) == 0 {
			delete(m.byUser, e.session.UserID)
		}
	}
	m.byAge.Remove(e.elem)
	heap.Remove(&m.byExpiry, e.index)
}

// expiryHeap orders entries by ExpiresAt, soonest first.
type expiryHeap []*memEntry

func (h expiryHeap) Len() int { return len(h) }
func (h expiryHeap) Less(i, j int) bool {
	return h[i].session.ExpiresAt.Before(h[j].session.ExpiresAt)
}
func (h expiryHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}
func (h *expiryHeap) Push(x any) {
	e := x.(*memEntry)
	e.index = len(*h)
	*h = append(*h, e)
}
func (h *expiryHeap) Pop() any {
	old := *h
	n := len(old)
	e := old[n-1]
	old[n-1] = nil
	e.index = -1
	*h = old[:n-1]
	return e
}
