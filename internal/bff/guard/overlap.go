package guard

import (
	"fmt"
	"net/http"

	"github.com/vektah/gqlparser/v2/ast"
)

// checkDocument bounds the quadratic part of gqlparser's validation over the
// whole document, since gqlgen validates every operation and fragment, not
// only the operation that runs.
//
// OverlappingFieldsCanBeMerged compares pairwise the fields that share a
// response name in a selection set, counting the fields of inline fragments
// and spread fragments as the set's own, and then, recursively, the
// sub-selections of each such pair; and it compares pairwise the fragments
// spread in a set. So checkDocument counts:
//
//   - the fragment spreads written in the document (MaxFragmentSpreads);
//   - the fields that repeat a response name in a merged selection set
//     (MaxRepeatedFields): a set's fields with those of its inline
//     fragments and spread fragments (each fragment once per set, as
//     GraphQL's CollectFields does), and the sub-selections of same-named
//     fields merged into one set;
//   - the work of validation, estimated over every operation and every
//     fragment that no operation spreads (at most 4 × MaxComplexity): each
//     field and each fragment expansion counts 1, and a merged set that
//     expands fragments counts, besides, its fields times its fragments,
//     which validation compares against each other. An operation of cost
//     MaxComplexity without fragments counts MaxComplexity. This also
//     bounds the walk itself, and stops a fragment that spreads itself from
//     inside a sub-selection.
//
// It refuses with TOO_MANY_FRAGMENT_SPREADS, TOO_MANY_REPEATED_FIELDS or
// QUERY_TOO_COMPLEX.
func checkDocument(doc *ast.QueryDocument, cfg *Config) *refusal {
	c := &overlapChecker{
		cfg:   cfg,
		frags: make(map[string]*ast.FragmentDefinition, len(doc.Fragments)),
		used:  make(map[string]bool, len(doc.Fragments)),
	}
	for _, op := range doc.Operations {
		c.countSpreads(op.SelectionSet)
	}
	for _, f := range doc.Fragments {
		c.countSpreads(f.SelectionSet)
		if _, dup := c.frags[f.Name]; !dup {
			c.frags[f.Name] = f
		}
	}
	if c.spreads > cfg.MaxFragmentSpreads {
		return refuse(http.StatusBadRequest, CodeTooManyFragmentSpreads,
			fmt.Sprintf("the document has more than %d fragment spreads", cfg.MaxFragmentSpreads),
			map[string]any{"limit": cfg.MaxFragmentSpreads, "fragmentSpreads": c.spreads})
	}
	for _, op := range doc.Operations {
		if c.merged([]ast.SelectionSet{op.SelectionSet}); c.fail != nil {
			return c.fail
		}
	}
	for _, f := range doc.Fragments {
		if c.used[f.Name] {
			continue
		}
		c.used[f.Name] = true
		if c.merged([]ast.SelectionSet{f.SelectionSet}); c.fail != nil {
			return c.fail
		}
	}
	return nil
}

type overlapChecker struct {
	cfg      *Config
	frags    map[string]*ast.FragmentDefinition
	used     map[string]bool // fragments expanded somewhere
	spreads  int
	repeated int
	work     int
	fail     *refusal
}

// countSpreads counts the fragment spreads written in set.
func (c *overlapChecker) countSpreads(set ast.SelectionSet) {
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			c.countSpreads(s.SelectionSet)
		case *ast.InlineFragment:
			c.countSpreads(s.SelectionSet)
		case *ast.FragmentSpread:
			c.spreads++
		}
	}
}

// addWork counts n units of validation work.
func (c *overlapChecker) addWork(n int) {
	c.work = satAdd(c.work, n)
	if limit := 4 * c.cfg.MaxComplexity; c.work > limit && c.fail == nil {
		c.fail = refuse(http.StatusBadRequest, CodeQueryTooComplex,
			fmt.Sprintf("the document as a whole is too complex to validate: its estimated work is over the limit of %d", limit),
			map[string]any{"limit": limit, "documentWork": c.work})
	}
}

// merged counts sets as one merged selection set, then the merged
// sub-selections of each response name.
func (c *overlapChecker) merged(sets []ast.SelectionSet) {
	groups := map[string][]*ast.Field{}
	var order []string
	expanded := map[string]bool{}
	collected := 0
	var collect func(ast.SelectionSet)
	collect = func(set ast.SelectionSet) {
		for _, sel := range set {
			if c.fail != nil {
				return
			}
			switch s := sel.(type) {
			case *ast.Field:
				c.addWork(1)
				collected++
				if _, seen := groups[s.Alias]; !seen {
					order = append(order, s.Alias) // Alias is the response name
				}
				groups[s.Alias] = append(groups[s.Alias], s)
			case *ast.InlineFragment:
				collect(s.SelectionSet)
			case *ast.FragmentSpread:
				def := c.frags[s.Name]
				if def == nil || expanded[s.Name] {
					continue
				}
				expanded[s.Name] = true
				c.used[s.Name] = true
				c.addWork(1)
				collect(def.SelectionSet)
			}
		}
	}
	for _, set := range sets {
		collect(set)
	}
	if len(expanded) > 0 {
		c.addWork(satMul(len(expanded), collected))
	}
	for _, name := range order {
		if c.fail != nil {
			return
		}
		fields := groups[name]
		c.repeated += len(fields) - 1
		if c.repeated > c.cfg.MaxRepeatedFields {
			c.fail = refuse(http.StatusBadRequest, CodeTooManyRepeatedFields,
				fmt.Sprintf("the document repeats fields in a selection set more than %d times", c.cfg.MaxRepeatedFields),
				map[string]any{"limit": c.cfg.MaxRepeatedFields, "repeatedFields": c.repeated})
			return
		}
		var subs []ast.SelectionSet
		for _, f := range fields {
			if len(f.SelectionSet) > 0 {
				subs = append(subs, f.SelectionSet)
			}
		}
		if len(subs) > 0 {
			c.merged(subs)
		}
	}
}
