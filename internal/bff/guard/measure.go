package guard

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/parser"
)

// Complexity's list multipliers: the argument names that size a list, the
// size assumed when such an argument has no value, and the largest size
// counted.
var listSizeArgs = map[string]bool{"first": true, "last": true, "limit": true, "recent": true}

const (
	defaultListSize = 20
	maxListSize     = 100
	// saturation caps every count, so that sums and products over
	// exponentially many fragment expansions cannot overflow.
	saturation = 1 << 40
)

// measurement is what analyse found.
type measurement struct {
	// operation is the selected operation's type (query, mutation, …),
	// name its name.
	operation ast.Operation
	name      string
	cost      int
	measured  bool // whether an operation was selected and measured
}

// analyse parses query under the token limit (or finds it in docs),
// measures the operation req.operationName selects, and checks
// the whole document. It refuses with QUERY_TOO_LARGE,
// GRAPHQL_PARSE_FAILED, the codes of measureOperation and those of
// checkDocument. A document parsed here that passes checkDocument is
// added to docs.
func analyse(query string, req *gqlRequest, cfg *Config, docs *documents) (measurement, *refusal) {
	doc, known := docs.get(query)
	if !known {
		var err error
		doc, err = parser.ParseQueryWithTokenLimit(&ast.Source{Name: "request", Input: query}, cfg.MaxTokens)
		if err != nil {
			return measurement{}, parseRefusal(err, cfg.MaxTokens)
		}
	}
	var m measurement
	// gqlgen selects the operation the same way; when it finds none it
	// refuses the request without running anything.
	if op := doc.Operations.ForName(req.operationName); op != nil {
		cost, rf := measureOperation(doc, op, req.vars, cfg)
		if rf != nil {
			return m, rf
		}
		m = measurement{cost: cost, measured: true, operation: op.Operation, name: op.Name}
	}
	if known {
		return m, nil // it passed checkDocument when it was added
	}
	if rf := checkDocument(doc, cfg); rf != nil {
		return m, rf
	}
	docs.add(query, doc)
	return m, nil
}

func parseRefusal(err error, maxTokens int) *refusal {
	gqlErr, ok := errors.AsType[*gqlerror.Error](err)
	if !ok {
		return refuse(http.StatusBadRequest, CodeParseFailed, "the query does not parse", nil)
	}
	if strings.HasPrefix(gqlErr.Message, "exceeded token limit") {
		return refuse(http.StatusBadRequest, CodeQueryTooLarge,
			fmt.Sprintf("the query has more than %d tokens", maxTokens),
			map[string]any{"limit": maxTokens})
	}
	rf := refuse(http.StatusBadRequest, CodeParseFailed, truncate(gqlErr.Message, maxMessageBytes), nil)
	if len(gqlErr.Locations) > 0 {
		rf.Line, rf.Column = gqlErr.Locations[0].Line, gqlErr.Locations[0].Column
	}
	return rf
}

// totals are the counts of one walk: of the operation, or of a fragment
// relative to where it is spread.
type totals struct {
	op    bool // the operation's totals, not a fragment's
	depth int  // the deepest field, 1 for a top-level field
	// introDepth is the deepest field inside __schema or __type, counted
	// from the top as depth is; held to IntrospectionMaxDepth.
	introDepth int
	rootFields int // top-level fields, after expanding fragments
	aliases    int
	directives int
	cost       int // at a multiplier of 1
}

// fragmentState memoises a fragment's totals and marks it while it is being
// expanded, to detect cycles.
type fragmentState struct {
	def      *ast.FragmentDefinition
	busy     bool
	done     bool
	relative totals
}

// walker measures one operation.
type walker struct {
	cfg   *Config
	op    *ast.OperationDefinition
	vars  map[string]json.RawMessage
	frags map[string]*fragmentState
	fail  *refusal
}

// measureOperation returns op's cost, in time linear in the document's size:
// each fragment is walked once, and its totals reused at every spread. It
// refuses with QUERY_TOO_DEEP, TOO_MANY_ALIASES, TOO_MANY_ROOT_FIELDS,
// TOO_MANY_DIRECTIVES, QUERY_TOO_COMPLEX, FRAGMENT_CYCLE or
// DEFER_NOT_SUPPORTED, as soon as the
// count passes its limit; the measured value in the refusal is the count
// at that point.
func measureOperation(doc *ast.QueryDocument, op *ast.OperationDefinition, vars map[string]json.RawMessage, cfg *Config) (int, *refusal) {
	w := &walker{cfg: cfg, op: op, vars: vars, frags: make(map[string]*fragmentState, len(doc.Fragments))}
	for _, f := range doc.Fragments {
		if _, dup := w.frags[f.Name]; !dup { // gqlgen refuses duplicates
			w.frags[f.Name] = &fragmentState{def: f}
		}
	}
	acc := totals{op: true, directives: len(op.Directives)}
	w.check(&acc)
	w.walk(op.SelectionSet, 1, 0, false, true, &acc)
	if w.fail != nil {
		return 0, w.fail
	}
	return acc.cost, nil
}

// IntrospectionMaxDepth is the depth allowed to fields inside __schema and
// __type, when it is more than limits.max_depth: the standard
// introspection queries (graphql-js's, which the playground sends, and
// gqlgen's) nest their type references deeper than an application query
// needs to; a document nesting __type { ofType { … } } deeper than they do
// is refused like any other deep document.
const IntrospectionMaxDepth = 15

// walk adds the counts of set to acc. mult is the product of the list
// multipliers above set, depth the depth of set's parent field, intro
// whether set is inside __schema or __type (not counted toward depth), and
// top whether set's fields are top-level ones.
func (w *walker) walk(set ast.SelectionSet, mult, depth int, intro, top bool, acc *totals) {
	for _, sel := range set {
		if w.fail != nil {
			return
		}
		switch s := sel.(type) {
		case *ast.Field:
			acc.cost = satAdd(acc.cost, mult)
			if s.Alias != s.Name {
				acc.aliases++
			}
			acc.directives = satAdd(acc.directives, len(s.Directives))
			if top {
				acc.rootFields++
			}
			if intro {
				acc.introDepth = max(acc.introDepth, depth+1)
			} else {
				acc.depth = max(acc.depth, depth+1)
			}
			w.check(acc)
			if len(s.SelectionSet) > 0 {
				childIntro := intro || s.Name == "__schema" || s.Name == "__type"
				w.walk(s.SelectionSet, satMul(mult, w.multiplier(s)), depth+1, childIntro, false, acc)
			}
		case *ast.InlineFragment:
			acc.directives = satAdd(acc.directives, len(s.Directives))
			w.refuseDefer(s.Directives)
			w.check(acc)
			w.walk(s.SelectionSet, mult, depth, intro, top, acc)
		case *ast.FragmentSpread:
			acc.directives = satAdd(acc.directives, len(s.Directives))
			w.refuseDefer(s.Directives)
			f := w.fragment(s.Name)
			if f == nil {
				w.check(acc)
				continue // unknown (gqlgen refuses it) or failed
			}
			acc.cost = satAdd(acc.cost, satMul(mult, f.cost))
			acc.aliases = satAdd(acc.aliases, f.aliases)
			acc.directives = satAdd(acc.directives, f.directives)
			if top {
				acc.rootFields = satAdd(acc.rootFields, f.rootFields)
			}
			if intro {
				acc.introDepth = max(acc.introDepth, depth+f.depth)
			} else {
				acc.depth = max(acc.depth, depth+f.depth)
			}
			if f.introDepth > 0 {
				acc.introDepth = max(acc.introDepth, depth+f.introDepth)
			}
			w.check(acc)
		}
	}
}

// refuseDefer refuses a fragment marked @defer: the BFF answers an
// operation in one response (GraphQL over HTTP's application/json and
// application/graphql-response+json), so what gqlgen would defer would
// be null in it and never sent. The generated code relies on it: it
// builds no group for deferred fields (internal/tools/gqlexec).
func (w *walker) refuseDefer(ds ast.DirectiveList) {
	if w.fail != nil || ds.ForName("defer") == nil {
		return
	}
	w.fail = refuse(http.StatusBadRequest, CodeDeferNotSupported,
		"@defer is not supported: every operation is answered in one response; remove the directive", nil)
}

// fragment returns the totals of the fragment named name relative to a
// spread of it, or nil when there is no such fragment or measuring failed.
func (w *walker) fragment(name string) *totals {
	st := w.frags[name]
	if st == nil {
		return nil
	}
	if st.done {
		return &st.relative
	}
	if st.busy {
		w.fail = refuse(http.StatusBadRequest, CodeFragmentCycle,
			fmt.Sprintf("fragment %s spreads itself", truncate(name, maxMessageBytes)),
			map[string]any{"fragment": truncate(name, maxMessageBytes)})
		return nil
	}
	st.busy = true
	st.relative.directives = len(st.def.Directives)
	w.walk(st.def.SelectionSet, 1, 0, false, true, &st.relative)
	st.busy = false
	if w.fail != nil {
		return nil
	}
	st.done = true
	return &st.relative
}

// check refuses once a count passes its limit. A fragment's cost, aliases
// and directives only add to those of the operation that spreads it, so
// they are checked as soon as they are counted; its depth and top-level
// fields are checked where it is spread.
func (w *walker) check(acc *totals) {
	if w.fail != nil {
		return
	}
	c := w.cfg
	over := func(code, key, message string, limit, value int) {
		w.fail = refuse(http.StatusBadRequest, code, fmt.Sprintf(message, limit),
			map[string]any{"limit": limit, key: value})
	}
	switch {
	case acc.op && acc.rootFields > c.MaxRootFields:
		over(CodeTooManyRootFields, "rootFields", "the query has more than %d root fields", c.MaxRootFields, acc.rootFields)
	case acc.op && acc.depth > c.MaxDepth:
		over(CodeQueryTooDeep, "depth", "the query nests more than %d levels deep", c.MaxDepth, acc.depth)
	case acc.op && acc.introDepth > max(c.MaxDepth, IntrospectionMaxDepth):
		limit := max(c.MaxDepth, IntrospectionMaxDepth)
		over(CodeQueryTooDeep, "depth", "the query nests more than %d levels deep", limit, acc.introDepth)
	case acc.aliases > c.MaxAliases:
		over(CodeTooManyAliases, "aliases", "the query has more than %d aliased fields", c.MaxAliases, acc.aliases)
	case acc.directives > c.MaxDirectives:
		over(CodeTooManyDirectives, "directives", "the query has more than %d directive uses", c.MaxDirectives, acc.directives)
	case acc.cost > c.MaxComplexity:
		over(CodeQueryTooComplex, "complexity", "the query's cost is over the limit of %d", c.MaxComplexity, acc.cost)
	}
}

// multiplier returns the list size a field's arguments give, 1 for none.
func (w *walker) multiplier(f *ast.Field) int {
	m := 1
	for _, arg := range f.Arguments {
		if listSizeArgs[arg.Name] {
			m = max(m, w.listSize(arg.Value))
		}
	}
	return m
}

// listSize returns the value of a list-size argument within [1, 100]: a
// literal, a variable's value, the variable's default, or else 20.
func (w *walker) listSize(v *ast.Value) int {
	if v == nil {
		return defaultListSize
	}
	switch v.Kind {
	case ast.IntValue:
		return clampListSize(v.Raw)
	case ast.Variable:
		if raw, ok := w.vars[v.Raw]; ok && !isNull(raw) {
			return clampListSize(strings.TrimSpace(string(raw)))
		}
		if def := w.op.VariableDefinitions.ForName(v.Raw); def != nil && def.DefaultValue != nil && def.DefaultValue.Kind == ast.IntValue {
			return clampListSize(def.DefaultValue.Raw)
		}
	}
	return defaultListSize
}

// clampListSize reads a number and keeps it within [1, 100]; a value that
// is not a number counts as the default size.
func clampListSize(s string) int {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		if errors.Is(err, strconv.ErrRange) {
			return maxListSize
		}
		return defaultListSize
	}
	switch {
	case f != f: // NaN cannot come from JSON or GraphQL, but be safe
		return defaultListSize
	case f < 1:
		return 1
	case f > maxListSize:
		return maxListSize
	}
	return int(f)
}

func satAdd(a, b int) int {
	return min(a+b, saturation)
}

func satMul(a, b int) int {
	if a != 0 && b > saturation/a {
		return saturation
	}
	return min(a*b, saturation)
}
