package guard

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
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
// trusted-documents mode: the client's documents as written (NewManifest)
// and, optionally, the same documents as the client actually sends them
// (AddPersisted, AddPersistedManifest: Apollo Client sends and hashes
// graphql-js's print of each document with __typename added, not the file's
// text). It is read-only once built, so it is safe for concurrent use; build
// it completely before handing it to the guard.
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
		m.names[name] = m.add(text)
	}
	return m
}

// add makes text a trusted document, by its hash and by its text, each as
// given and trimmed of surrounding white space, and returns its hash.
func (m *Manifest) add(text string) string {
	h := Hash(text)
	m.byHash[h] = text
	m.texts[text] = struct{}{}
	trimmed := strings.TrimSpace(text)
	m.texts[trimmed] = struct{}{}
	if th := Hash(trimmed); th != h {
		if _, taken := m.byHash[th]; !taken {
			m.byHash[th] = text
		}
	}
	return h
}

// PersistedManifestFormat is the format of Apollo's persisted query
// manifests.
const PersistedManifestFormat = "apollo-persisted-query-manifest"

// PersistedManifest is a persisted query manifest in Apollo's format, as
// @apollo/generate-persisted-query-manifest (or
// internal/tools/nodetests/manifest.mjs) writes it.
type PersistedManifest struct {
	Format     string               `json:"format"`
	Version    int                  `json:"version"`
	Operations []PersistedOperation `json:"operations"`
}

// PersistedOperation is one operation of a persisted query manifest.
type PersistedOperation struct {
	// ID is the lowercase hex SHA-256 of Body: the sha256Hash the client
	// sends.
	ID string `json:"id"`
	// Name is the operation's name.
	Name string `json:"name"`
	// Type is query, mutation or subscription.
	Type string `json:"type"`
	// Body is the document's text exactly as the client sends it.
	Body string `json:"body"`
}

// ParsePersistedManifest decodes a persisted query manifest and checks it:
// its format and version 1, and for each operation a name, a type, a body
// and an id that is the lowercase hex SHA-256 of the body (this guard
// identifies documents by that hash only). Names are unique.
func ParsePersistedManifest(data []byte) (*PersistedManifest, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var pm PersistedManifest
	if err := dec.Decode(&pm); err != nil {
		return nil, fmt.Errorf("persisted query manifest: %w", err)
	}
	if dec.More() {
		return nil, errors.New("persisted query manifest: data after the JSON object")
	}
	if pm.Format != PersistedManifestFormat || pm.Version != 1 {
		return nil, fmt.Errorf("persisted query manifest: format %q version %d, want %q version 1", pm.Format, pm.Version, PersistedManifestFormat)
	}
	names := make(map[string]bool, len(pm.Operations))
	for i, op := range pm.Operations {
		switch {
		case op.Name == "":
			return nil, fmt.Errorf("persisted query manifest: operation %d has no name", i)
		case names[op.Name]:
			return nil, fmt.Errorf("persisted query manifest: operation %s appears twice", op.Name)
		case op.Type != "query" && op.Type != "mutation" && op.Type != "subscription":
			return nil, fmt.Errorf("persisted query manifest: operation %s has type %q", op.Name, op.Type)
		}
		names[op.Name] = true
		if err := checkPersisted(op.ID, op.Body); err != nil {
			return nil, fmt.Errorf("persisted query manifest: operation %s: %w", op.Name, err)
		}
	}
	return &pm, nil
}

func checkPersisted(id, body string) error {
	if strings.TrimSpace(body) == "" {
		return errors.New("empty body")
	}
	if want := Hash(body); id != want {
		return fmt.Errorf("id %q is not the SHA-256 of the body (%s)", id, want)
	}
	return nil
}

// AddPersisted makes body a trusted document under id, which must be the
// lowercase hex SHA-256 of body. Call it only while building the manifest,
// before it is used.
func (m *Manifest) AddPersisted(id, body string) error {
	if err := checkPersisted(id, body); err != nil {
		return err
	}
	m.add(body)
	return nil
}

// AddPersistedManifest adds every operation of a persisted query manifest
// in Apollo's format (see ParsePersistedManifest), with AddPersisted.
func (m *Manifest) AddPersistedManifest(data []byte) error {
	pm, err := ParsePersistedManifest(data)
	if err != nil {
		return err
	}
	for _, op := range pm.Operations {
		m.add(op.Body)
	}
	return nil
}

// NewManifestWithPersisted returns NewManifest(docs) with the operations
// of the persisted query manifest persisted (Apollo's format) added.
func NewManifestWithPersisted(docs map[string]string, persisted []byte) (*Manifest, error) {
	m := NewManifest(docs)
	if err := m.AddPersistedManifest(persisted); err != nil {
		return nil, err
	}
	return m, nil
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

// Hashes returns a new map from the name of each document given to
// NewManifest to Hash of its text, ids clients may send as
// extensions.persistedQuery.sha256Hash. Persisted documents added later
// are not in it: their ids are in their manifest.
func (m *Manifest) Hashes() map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return maps.Clone(m.names)
}

// Len returns the number of documents given to NewManifest.
func (m *Manifest) Len() int {
	if m == nil {
		return 0
	}
	return len(m.names)
}
