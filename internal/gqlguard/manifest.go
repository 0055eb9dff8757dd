package gqlguard

import (
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"strings"
)

// Hash returns the lowercase hex SHA-256 of text: the sha256Hash of
// Apollo's automatic persisted queries and the id of a trusted document.
func Hash(text string) string {
	sum := sha256.Sum256([]byte(text))
	return hex.EncodeToString(sum[:])
}

// Manifest is the set of trusted documents a server accepts when it runs in
// trusted-documents mode. It is read-only after NewManifest, so it is safe
// for concurrent use.
type Manifest struct {
	// byHash maps the hash of each document's text, and of the text
	// trimmed of surrounding white space, to the text.
	byHash map[string]string
	// texts holds each document's text and its trimmed text.
	texts map[string]struct{}
	// names maps a document's name to the hash of its text.
	names map[string]string
}

// NewManifest returns a manifest of docs, a map from a document's name (for
// example its file name) to its text.
func NewManifest(docs map[string]string) *Manifest {
	m := &Manifest{
		byHash: make(map[string]string, 2*len(docs)),
		texts:  make(map[string]struct{}, 2*len(docs)),
		names:  make(map[string]string, len(docs)),
	}
	for name, text := range docs {
		h := Hash(text)
		m.names[name] = h
		m.byHash[h] = text
		m.texts[text] = struct{}{}
		trimmed := strings.TrimSpace(text)
		m.texts[trimmed] = struct{}{}
		if th := Hash(trimmed); th != h {
			if _, taken := m.byHash[th]; !taken {
				m.byHash[th] = text
			}
		}
	}
	return m
}

// Lookup returns the text of the document whose SHA-256 (of its text as
// given, or trimmed of surrounding white space) is hash, in hex of either
// case.
func (m *Manifest) Lookup(hash string) (string, bool) {
	if m == nil {
		return "", false
	}
	text, ok := m.byHash[strings.ToLower(hash)]
	return text, ok
}

// Contains reports whether text is one of the documents, compared exactly
// or after trimming surrounding white space from both.
func (m *Manifest) Contains(text string) bool {
	if m == nil {
		return false
	}
	if _, ok := m.texts[text]; ok {
		return true
	}
	_, ok := m.texts[strings.TrimSpace(text)]
	return ok
}

// Hashes returns a new map from each document's name to Hash of its text,
// the ids clients send as extensions.persistedQuery.sha256Hash.
func (m *Manifest) Hashes() map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return maps.Clone(m.names)
}

// Len returns the number of documents.
func (m *Manifest) Len() int {
	if m == nil {
		return 0
	}
	return len(m.names)
}
