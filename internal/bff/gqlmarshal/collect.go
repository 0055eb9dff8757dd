package gqlmarshal

import (
	"sync"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
)

// Collected is one operation's fields of each selection set and object
// type, as graphql.CollectFields collects them. internal/tools/gqlexec
// gives the generated executionContext (one per operation) a Collected
// and has each object's marshaller ask it instead of graphql.CollectFields:
// gqlgen caches the fields on the operation too, but hashes the object's
// type names into a key allocated for every object of an answer (a list
// of 100 orders asks about a thousand times for a handful of selection
// sets). Here the key is the selection set's and the type names' own
// addresses: the document and the generated code's type names outlive
// the operation, so an address names one selection set and one type for
// as long as the Collected exists. The zero Collected is ready to use;
// it is safe for the operation's concurrent resolvers.
type Collected struct {
	mu     sync.Mutex
	fields map[collectedKey][]graphql.CollectedField
}

type collectedKey struct {
	first     *ast.Selection // the selection set's first selection
	n         int            // and its length
	satisfies *string        // the object's type names (xImplementors)
}

// Fields returns graphql.CollectFields(oc, sel, satisfies), collected
// once for the operation (oc, always the same for one Collected).
func (c *Collected) Fields(oc *graphql.OperationContext, sel ast.SelectionSet, satisfies []string) []graphql.CollectedField {
	if len(sel) == 0 || len(satisfies) == 0 {
		return graphql.CollectFields(oc, sel, satisfies)
	}
	key := collectedKey{first: &sel[0], n: len(sel), satisfies: &satisfies[0]}
	c.mu.Lock()
	fields, ok := c.fields[key]
	c.mu.Unlock()
	if ok {
		return fields
	}
	fields = graphql.CollectFields(oc, sel, satisfies)
	c.mu.Lock()
	if c.fields == nil {
		c.fields = make(map[collectedKey][]graphql.CollectedField)
	}
	c.fields[key] = fields
	c.mu.Unlock()
	return fields
}
