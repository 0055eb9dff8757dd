// Command gqlexec generates a BFF's executable schema: gqlgen generate,
// from the gqlgen.yml of the directory it runs in (make generate runs it
// in bff-web and bff-mobile), and then changes to what gqlgen wrote, all
// about cost, none about what an answer holds (internal/bff/gqlmarshal
// has the code the changed parts call):
//
//   - lists whose elements cannot wait are marshalled in order, in the
//     caller's goroutine, instead of with a goroutine per element;
//   - leaf fields that only read their model (a struct field or a method
//     without context nor error, a scalar or enum, no arguments, no
//     directives, never a forbidden null) are marshalled straight from
//     the model instead of through graphql.ResolveField, which builds a
//     field context, a context, closures and the middleware chain for
//     each: about ten allocations per field, three quarters of the fields
//     of a list of orders. Nothing can fail, panic or wait there, so the
//     answer is the same. Other fields that read their model (objects,
//     lists of objects, and anything read through a method that can fail
//     but takes no context) keep their field context and panic recovery,
//     and a method's error is answered as ResolveField answers it; they
//     lose the closures and the middleware chain. The one thing these
//     fields no longer pass through is a field interceptor, which the
//     BFFs refuse to install (internal/bff use);
//   - objects build no group for @defer's fields (the object's path, a
//     field set and a map each), which the BFFs refuse before anything
//     runs (guard.CodeDeferNotSupported): they answer in one response;
//   - objects are written by gqlmarshal.Object, not FieldSet.MarshalGQL
//     (a copy of every field and a map per object), and answers into
//     pooled buffers (internal/bufpool), which edge.POST gives back.
//
// A field can wait when gqlgen resolves it concurrently (a resolver, a
// method taking a context) or its type is an interface or a union. An
// object is plain when none of its fields can wait and every object under
// it is plain: a list of plain objects (or of enums) always goes in order
// (gqlmarshal.MarshalInOrder). A list of other objects goes in order when
// the operation selects no field under it that can wait (gqlmarshal.Marshal,
// with the schema's fields that can wait, written to lists_gen.go), and
// concurrently otherwise, so that the resolvers of sibling elements still
// wait together on one dataloader batch.
//
// Each change checks the shape of the code it replaces and refuses (the
// generated file left as gqlgen wrote it, make generate failing) when a
// new gqlgen writes something else.
package main

import (
	"fmt"
	"os"

	"github.com/99designs/gqlgen/api"
	"github.com/99designs/gqlgen/codegen/config"
)

func main() {
	if err := run("gqlgen.yml"); err != nil {
		fmt.Fprintln(os.Stderr, "gqlexec:", err)
		os.Exit(1)
	}
}

func run(path string) error {
	cfg, err := config.LoadConfig(path)
	if err != nil {
		return fmt.Errorf("load %s: %w", path, err)
	}
	lists := &lists{}
	if err := api.Generate(cfg, api.AddPlugin(lists)); err != nil {
		return fmt.Errorf("gqlgen generate: %w", err)
	}
	if cfg.Exec.Layout != config.ExecLayoutSingleFile {
		return fmt.Errorf("%s: exec.layout %q: only single-file is supported", path, cfg.Exec.Layout)
	}
	if err := rewrite(cfg.Exec.Filename, lists.plan); err != nil {
		return err
	}
	fmt.Printf("gqlexec: %s: %d lists marshalled in order, %d by their selection; %d leaf, %d object and %d failing fields read from the model\n",
		cfg.Exec.Filename, len(lists.plan.inOrder), len(lists.plan.bySel), len(lists.plan.leaves), len(lists.plan.objects), len(lists.plan.failing))
	return nil
}
