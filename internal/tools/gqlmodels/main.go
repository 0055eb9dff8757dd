// Command gqlmodels generates the Go models of the GraphQL types both BFFs
// share (graph/schema into graph/model, as gqlgen.yml says) with gqlgen's
// model generator alone. `gqlgen generate` would also write an executable
// schema for them, which nothing uses: each BFF generates its own from its
// own gqlgen.yml. Run it from the repository root (make generate does).
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/99designs/gqlgen/codegen/config"
	"github.com/99designs/gqlgen/plugin"
	"github.com/99designs/gqlgen/plugin/modelgen"
)

func main() {
	if err := run("gqlgen.yml"); err != nil {
		fmt.Fprintln(os.Stderr, "gqlmodels:", err)
		os.Exit(1)
	}
}

func run(path string) error {
	cfg, err := config.LoadConfig(path)
	if err != nil {
		return err
	}
	if cfg.Exec.IsDefined() && cfg.Exec.Filename != config.DefaultConfig().Exec.Filename {
		return errors.New(path + ": exec is not used: only the models are generated")
	}
	// gqlgen's configuration checks insist on an exec package; it is never
	// written, so it shares the models' package.
	cfg.Exec = config.ExecConfig{Filename: cfg.Model.Filename, Package: cfg.Model.Package}
	// As gqlgen generate does: the old models must not be bound to
	// themselves when the package is loaded.
	_ = os.Remove(cfg.Model.Filename)
	if err := cfg.LoadSchema(); err != nil {
		return fmt.Errorf("load schema: %w", err)
	}
	if err := cfg.Init(); err != nil {
		return fmt.Errorf("check config: %w", err)
	}
	gen, ok := modelgen.New().(plugin.ConfigMutator)
	if !ok {
		return errors.New("gqlgen's model generator is no longer a ConfigMutator")
	}
	if err := gen.MutateConfig(cfg); err != nil {
		return fmt.Errorf("generate models: %w", err)
	}
	return nil
}
