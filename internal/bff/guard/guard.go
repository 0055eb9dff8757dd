// Package guard is the HTTP middleware that stands in front of gqlgen's
// handler on /graphql and refuses expensive GraphQL documents before gqlgen
// parses and validates them.
//
// gqlparser's validation is quadratic in fields that share a response name
// (OverlappingFieldsCanBeMerged), and gqlgen parses with no token limit, so
// a few hundred kilobytes of document can cost seconds of CPU. The guard
// decodes the request itself, resolves persisted documents (Apollo automatic
// persisted queries, or a manifest of trusted documents), parses the
// document once with gqlparser's linear parser under a token limit, measures
// it in time linear in its size, and refuses it when a limit is exceeded.
// Otherwise it hands gqlgen a request that holds the full query text (it
// rewrites the POST body or the GET URL) and puts the selected operation's
// cost in the context, for the rate limiter (CostFromContext).
//
// What is measured, and how:
//
//   - tokens: the whole document, by the parser (MaxTokens);
//   - depth, aliases, root fields, directive uses and complexity: the
//     selected operation, with fragment spreads expanded (each fragment is
//     measured once and its results reused, and a spread of a fragment that
//     is being expanded is a FRAGMENT_CYCLE). Fields under __schema and
//     __type count toward depth too, up to IntrospectionMaxDepth (15) when
//     that is more than MaxDepth: the standard introspection queries nest
//     15 deep, and nothing legitimate deeper;
//   - fragment spreads, repeated response names, and the fields selected
//     by all operations and unused fragments together: the whole document,
//     because gqlgen validates all of it, not only the operation that runs
//     (see checkDocument). These bound the quadratic part of validation,
//     which the limits above do not: one field repeated 4,000 times under a
//     single root field, or 1,600 fragments spread side by side, pass every
//     other limit and cost gqlparser about a second each; in an operation
//     that is not selected, no per-operation limit applies at all.
//
// Complexity is the sum, over the selected fields, of the product of the
// list multipliers of the field's ancestors. A field with an argument named
// first, last, limit or recent multiplies the cost of everything under it by
// that argument's value: a literal, or a variable's value, or else its
// default in the operation, or else 20; each multiplier is kept within
// [1, 100]. A field with no such argument multiplies by 1.
//
// Requests the guard handles: POST with Content-Type application/json (any
// parameters), whose body is a request object or, with batching enabled, an
// array of them; and GET with query, operationName, variables and extensions
// parameters. Every other request (other methods, other content types, and
// WebSocket upgrades) passes to the next handler untouched and unguarded, so
// gqlgen must not be given a transport that reads documents elsewhere (such
// as multipart uploads) without guarding it too.
//
// The guard owns automatic persisted queries: it strips
// extensions.persistedQuery from the request it passes on, so gqlgen's
// AutomaticPersistedQuery extension is redundant behind it.
package guard

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/vektah/gqlparser/v2/ast"

	"github.com/acme/bff-gateway/internal/bff/config"
)

// Config holds the guard's limits; ConfigFrom makes it from the BFF's
// configuration (internal/bff/config), where their defaults are. Numbers
// are checked by Middleware: a negative one is an error, and so is zero
// for the limits that zero would make refuse everything.
type Config struct {
	// MaxBodyBytes caps a POST body and a GET query string.
	MaxBodyBytes int64
	// MaxTokens caps the document's parser tokens.
	MaxTokens int
	// MaxDepth caps the selected operation's selection depth, fragment
	// spreads expanded.
	MaxDepth int
	// MaxAliases caps the aliased fields of the selected operation.
	MaxAliases int
	// MaxRootFields caps the root fields of the selected operation, counted
	// after expanding fragments at the root.
	MaxRootFields int
	// MaxDirectives caps the directive uses of the selected operation.
	MaxDirectives int
	// MaxComplexity caps the selected operation's cost.
	MaxComplexity int
	// MaxFragmentSpreads caps the fragment spreads written in the whole
	// document. Validation compares spread fragments pairwise.
	MaxFragmentSpreads int
	// MaxRepeatedFields caps, over the whole document, the fields whose
	// response name repeats one already selected in the same selection set,
	// counting the fields of inline fragments and of same-named fields'
	// merged sub-selections as the same set. Validation compares such
	// fields pairwise.
	MaxRepeatedFields int
	// Batching configures JSON array bodies.
	Batching BatchingConfig
	// APQ configures Apollo automatic persisted queries.
	APQ APQConfig
	// Trusted, when not nil, restricts the server to the manifest's
	// documents (trusted-documents mode); APQ registration is then off.
	Trusted *Manifest
	// Hooks tell the BFF's metrics what the guard does.
	Hooks Hooks
}

// Hooks are told what the guard does; nil ones are not called. They must
// be quick and safe for concurrent use.
type Hooks struct {
	// Refused is told the code of every refusal.
	Refused func(code string)
	// APQ is told the outcome of every automatic persisted query: APQHit,
	// APQMiss or APQRegistered.
	APQ func(outcome string)
}

// BatchingConfig configures batched requests: a POST body that is a JSON
// array of request objects.
type BatchingConfig struct {
	// Enabled turns batching on (when off, every array body is refused
	// with BATCHING_DISABLED). When on, the guard checks each
	// operation on its own and runs those that pass through the next
	// handler one after another, each as its own request with its own cost
	// in the context; the answer is a JSON array of their response bodies,
	// in order, with status 200, and the headers the next handler set
	// (Set-Cookie added, others last one wins). A refused operation's entry
	// is its refusal body.
	Enabled bool
	// MaxOperations caps the operations in a batch; more is refused
	// as a whole with BATCH_TOO_LARGE.
	MaxOperations int
}

// APQConfig configures Apollo automatic persisted queries.
type APQConfig struct {
	// Enabled turns APQ on.
	Enabled bool
	// MaxEntries caps the registered documents, least recently used
	// evicted first.
	MaxEntries int
	// MaxBytes caps the total text of the registered documents.
	MaxBytes int
	// Shared, when set, is a store the replicas share (Redis), behind
	// each one's own: a hash this replica does not know is looked up
	// there, and what is registered here is registered there too.
	Shared APQShared
}

// APQShared is a store of documents by hash shared by replicas. Its
// failures are its own to report: the guard then goes on with its own
// store alone (a lookup that fails is a miss, the client sends the text).
type APQShared interface {
	Get(ctx context.Context, hash string) (text string, ok bool, err error)
	Add(ctx context.Context, hash, text string) error
}

// ConfigFrom returns the guard's configuration for the BFF's limits and
// persisted-query settings. Trusted is left nil: the caller sets it in
// trusted-documents mode (config.Config.TrustedOnly).
func ConfigFrom(l config.Limits, pq config.PersistedQueries) Config {
	return Config{
		MaxBodyBytes:       l.MaxBodyBytes,
		MaxTokens:          l.MaxTokens,
		MaxDepth:           l.MaxDepth,
		MaxAliases:         l.MaxAliases,
		MaxRootFields:      l.MaxRootFields,
		MaxDirectives:      l.MaxDirectives,
		MaxComplexity:      l.MaxComplexity,
		MaxFragmentSpreads: l.MaxFragmentSpreads,
		MaxRepeatedFields:  l.MaxRepeatedFields,
		Batching:           BatchingConfig{Enabled: l.Batching, MaxOperations: l.MaxBatch},
		APQ:                APQConfig{Enabled: pq.APQ, MaxEntries: pq.APQMaxEntries, MaxBytes: pq.APQMaxBytes},
	}
}

// validate reports every unusable number at once, by field name.
func (cfg Config) validate() error {
	var errs []error
	check := func(name string, v int64, zeroOK bool) {
		if v < 0 || (v == 0 && !zeroOK) {
			errs = append(errs, fmt.Errorf("guard: %s is %d; it must be positive", name, v))
		}
	}
	check("MaxBodyBytes", cfg.MaxBodyBytes, false)
	check("MaxTokens", int64(cfg.MaxTokens), false)
	check("MaxDepth", int64(cfg.MaxDepth), false)
	check("MaxAliases", int64(cfg.MaxAliases), true)
	check("MaxRootFields", int64(cfg.MaxRootFields), false)
	check("MaxDirectives", int64(cfg.MaxDirectives), true)
	check("MaxComplexity", int64(cfg.MaxComplexity), false)
	check("MaxFragmentSpreads", int64(cfg.MaxFragmentSpreads), true)
	check("MaxRepeatedFields", int64(cfg.MaxRepeatedFields), true)
	check("Batching.MaxOperations", int64(cfg.Batching.MaxOperations), false)
	check("APQ.MaxEntries", int64(cfg.APQ.MaxEntries), false)
	check("APQ.MaxBytes", int64(cfg.APQ.MaxBytes), false)
	return errors.Join(errs...)
}

// Middleware returns the guard as HTTP middleware for the /graphql route. It
// returns an error, joining every problem, when a limit of cfg is unusable.
func Middleware(cfg Config) (func(http.Handler) http.Handler, error) {
	g, err := newGuard(cfg)
	if err != nil {
		return nil, err
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			g.serve(w, r, next)
		})
	}, nil
}

// guard is the configured middleware's state.
type guard struct {
	cfg  Config
	apq  *apqStore // nil when APQ is off or in trusted-documents mode
	docs *documents
}

func newGuard(cfg Config) (*guard, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	g := &guard{cfg: cfg, docs: newDocuments()}
	var err error
	if cfg.APQ.Enabled && cfg.Trusted == nil {
		if g.apq, err = newAPQStore(cfg.APQ.MaxEntries, cfg.APQ.MaxBytes); err != nil {
			return nil, fmt.Errorf("guard: %w", err)
		}
	}
	return g, nil
}

type operationKey struct{}

// Operation is what the guard found of the operation a request runs.
type Operation struct {
	// Name is the operation's name as the document writes it ("" for an
	// anonymous one): a client's word, so bound it before using it as a
	// label.
	Name string
	// Type is query, mutation or subscription.
	Type ast.Operation
	// Cost is the operation's measured cost.
	Cost int
}

// NewContextWithOperation returns ctx carrying the operation a request runs.
func NewContextWithOperation(ctx context.Context, op Operation) context.Context {
	return context.WithValue(ctx, operationKey{}, op)
}

// OperationFromContext returns the operation the guard measured for the
// request, and whether there is one. There is none for requests the guard
// passed on without measuring: other methods and content types, and
// documents whose operation gqlgen will not find (an unknown operationName,
// or several operations and no name), which gqlgen refuses without
// running anything.
func OperationFromContext(ctx context.Context) (Operation, bool) {
	op, ok := ctx.Value(operationKey{}).(Operation)
	return op, ok
}

// CostFromContext returns the cost of the request's operation, and whether
// there is one (see OperationFromContext).
func CostFromContext(ctx context.Context) (int, bool) {
	op, ok := OperationFromContext(ctx)
	return op.Cost, ok
}
