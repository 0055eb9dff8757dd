// Command gqlexec generates a BFF's executable schema: gqlgen generate,
// from the gqlgen.yml of the directory it runs in (make generate runs it
// in bff-web and bff-mobile), and then one change to what gqlgen wrote:
// lists whose elements cannot wait are marshalled in order, in the
// caller's goroutine (internal/bff/gqllist), instead of with a goroutine
// per element.
//
// A field can wait when gqlgen resolves it concurrently (a resolver, a
// method taking a context) or its type is an interface or a union. An
// object is plain when none of its fields can wait and every object under
// it is plain: a list of plain objects (or of enums) always goes in order
// (gqllist.MarshalInOrder). A list of other objects goes in order when
// the operation selects no field under it that can wait (gqllist.Marshal,
// with the schema's fields that can wait, written to lists_gen.go), and
// concurrently otherwise, so that the resolvers of sibling elements still
// wait together on one dataloader batch.
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
	fmt.Printf("gqlexec: %s: %d lists marshalled in order, %d by their selection\n",
		cfg.Exec.Filename, len(lists.plan.inOrder), len(lists.plan.bySel))
	return nil
}
