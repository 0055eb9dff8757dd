package guard

import (
	"sync"

	"github.com/hashicorp/golang-lru/v2/simplelru"
)

// apqStore holds the documents registered through automatic persisted
// queries, by hash. It is a least-recently-used cache bounded both in
// entries and in the bytes of text it holds, so neither a flood of unique
// documents nor a few very long ones can grow memory without bound.
type apqStore struct {
	mu       sync.Mutex
	lru      *simplelru.LRU[string, string]
	bytes    int
	maxBytes int
}

func newAPQStore(maxEntries, maxBytes int) (*apqStore, error) {
	s := &apqStore{maxBytes: maxBytes}
	l, err := simplelru.NewLRU(maxEntries, func(_ string, text string) {
		// Called under s.mu, from Add, Remove or RemoveOldest.
		s.bytes -= len(text)
	})
	if err != nil {
		return nil, err
	}
	s.lru = l
	return s, nil
}

// get returns the text registered under hash.
func (s *apqStore) get(hash string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lru.Get(hash)
}

// add registers text under hash, evicting the least recently used entries
// to stay within the bounds. A text longer than the byte bound is not kept.
func (s *apqStore) add(hash, text string) {
	if len(text) > s.maxBytes {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.lru.Peek(hash); ok && old == text {
		s.lru.Get(hash) // refresh its recency
		return
	}
	s.lru.Remove(hash)
	s.lru.Add(hash, text)
	s.bytes += len(text)
	for s.bytes > s.maxBytes {
		if _, _, ok := s.lru.RemoveOldest(); !ok {
			break
		}
	}
}

// len returns the number of entries.
func (s *apqStore) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lru.Len()
}

// size returns the bytes of text held.
func (s *apqStore) size() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bytes
}
