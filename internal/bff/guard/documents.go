package guard

import (
	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/vektah/gqlparser/v2/ast"
)

// The guard remembers the documents it parsed that passed the checks of
// the whole document (checkDocument), by their text: the clients send the
// same few documents again and again, and parsing one was a third of the
// guard's work (3 % of a BFF's CPU on mobile Home). Only the selected
// operation's measure, which depends on the request's variables, is
// done again. Bounded in count and in size, so that documents sent to
// fill it cost at most CachedDocuments × MaxCachedDocumentBytes of text
// (and their syntax trees, a few times that).
const (
	// CachedDocuments is how many parsed documents the guard remembers.
	CachedDocuments = 128
	// MaxCachedDocumentBytes is the longest document remembered; a longer
	// one is parsed every time (a client's documents are a few KiB).
	MaxCachedDocumentBytes = 8 << 10
)

// documents remembers parsed documents that passed checkDocument.
type documents struct {
	lru *lru.Cache[string, *ast.QueryDocument]
}

func newDocuments() *documents {
	c, err := lru.New[string, *ast.QueryDocument](CachedDocuments)
	if err != nil {
		panic(err) // only for a size < 1
	}
	return &documents{lru: c}
}

// get returns the parsed document of query, if remembered. The document
// is shared: nothing may change it.
func (d *documents) get(query string) (*ast.QueryDocument, bool) {
	if len(query) > MaxCachedDocumentBytes {
		return nil, false
	}
	return d.lru.Get(query)
}

// add remembers doc, the parse of query, which passed checkDocument.
func (d *documents) add(query string, doc *ast.QueryDocument) {
	if len(query) > MaxCachedDocumentBytes {
		return
	}
	d.lru.Add(query, doc)
}
