package guard

import (
	"context"
	"encoding/hex"
	"net/http"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"
)

// checked is a request that passed the guard.
type checked struct {
	// query is the full document text to hand to gqlgen.
	query string
	// cost is the selected operation's cost; measured says whether there
	// is a selected operation (see OperationFromContext).
	cost     int
	measured bool
	// operation is the selected operation's type, and name its name,
	// when measured.
	operation ast.Operation
	name      string
}

// check resolves req's document, parses and measures it. It refuses with the
// PERSISTED_QUERY_* codes, BAD_REQUEST for a request with no document, and
// the codes of analyse.
func (g *guard) check(ctx context.Context, req *gqlRequest) (*checked, *refusal) {
	query, register, rf := g.resolve(ctx, req)
	if rf != nil {
		return nil, rf
	}
	if strings.TrimSpace(query) == "" {
		return nil, badRequest("the request has no query")
	}
	m, rf := analyse(query, req, &g.cfg, g.docs)
	if rf != nil {
		return nil, rf
	}
	// Register only a document that passed every limit, so junk can't
	// fill the store.
	if register != "" && m.measured {
		g.apq.add(register, query)
		if shared := g.cfg.APQ.Shared; shared != nil {
			_ = shared.Add(ctx, register, query) // its failure is its own to report
		}
		g.apqOutcome(APQRegistered)
	}
	return &checked{query: query, cost: m.cost, measured: m.measured, operation: m.operation, name: m.name}, nil
}

// resolve returns the text of req's document, and the hash to register it
// under once it passes (empty for none).
func (g *guard) resolve(ctx context.Context, req *gqlRequest) (query, register string, rf *refusal) {
	query = req.query
	if pq := req.pq; pq != nil {
		if pq.version != 1 {
			return "", "", refuse(http.StatusBadRequest, CodePersistedQueryNotSupported,
				"PersistedQueryNotSupported: only version 1 of persisted queries is supported",
				map[string]any{"version": pq.version})
		}
		hash := strings.ToLower(pq.hash)
		if !isSHA256Hex(hash) {
			return "", "", badRequest("extensions.persistedQuery.sha256Hash must be 64 hex digits")
		}
		switch {
		case query != "":
			if Hash(query) != hash {
				return "", "", refuse(http.StatusBadRequest, CodePersistedQueryHashMismatch,
					"the persisted query's sha256Hash is not the SHA-256 of its query", nil)
			}
			if g.apq != nil {
				register = hash
			}
		case g.cfg.Trusted != nil:
			text, ok := g.cfg.Trusted.Lookup(hash)
			if !ok {
				return "", "", notAllowed()
			}
			return text, "", nil
		case g.apq == nil:
			return "", "", refuse(http.StatusBadRequest, CodePersistedQueryNotSupported,
				"PersistedQueryNotSupported", nil)
		default:
			text, ok := g.lookupAPQ(ctx, hash)
			if ok {
				g.apqOutcome(APQHit)
			} else {
				g.apqOutcome(APQMiss)
			}
			if !ok {
				// Apollo Client looks for this message, with status 200,
				// and retries with the query text.
				return "", "", refuse(http.StatusOK, CodePersistedQueryNotFound, "PersistedQueryNotFound", nil)
			}
			return text, "", nil
		}
	}
	if g.cfg.Trusted != nil && !g.cfg.Trusted.Contains(query) {
		return "", "", notAllowed()
	}
	return query, register, nil
}

// lookupAPQ finds hash's document in this replica's store, else in the
// shared one (keeping it here then). A document from the shared store is
// used only if it is the text hash names: the store is trusted with
// nothing.
func (g *guard) lookupAPQ(ctx context.Context, hash string) (string, bool) {
	if text, ok := g.apq.get(hash); ok {
		return text, true
	}
	shared := g.cfg.APQ.Shared
	if shared == nil {
		return "", false
	}
	text, ok, err := shared.Get(ctx, hash)
	if err != nil || !ok || Hash(text) != hash {
		return "", false
	}
	g.apq.add(hash, text)
	return text, true
}

func notAllowed() *refusal {
	return refuse(http.StatusBadRequest, CodePersistedQueryNotAllowed,
		"only trusted documents are allowed: send a manifest document's sha256Hash or its exact text", nil)
}

func isSHA256Hex(s string) bool {
	if len(s) != 64 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

// The outcomes of automatic persisted queries, for Hooks.APQ.
const (
	// APQHit: a hash-only request found its document.
	APQHit = "hit"
	// APQMiss: a hash-only request did not (the client sends the text).
	APQMiss = "miss"
	// APQRegistered: a document was registered under its hash.
	APQRegistered = "registered"
)

func (g *guard) apqOutcome(outcome string) {
	if g.cfg.Hooks.APQ != nil {
		g.cfg.Hooks.APQ(outcome)
	}
}
