// Package envconfig binds command-line flags whose defaults come from
// environment variables, so every setting can be given either way.
package envconfig

import (
	"errors"
	"flag"
	"fmt"
	"strconv"
	"time"
)

// Set is a flag set whose defaults are read through getenv.
type Set struct {
	*flag.FlagSet
	getenv func(string) string
	errs   []error
}

// New returns a Set named name reading the environment through getenv.
func New(name string, getenv func(string) string) *Set {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	return &Set{FlagSet: fs, getenv: getenv}
}

// Getenv returns the function the set reads the environment through, for
// the settings that are no flags (the standard OTEL_* variables).
func (s *Set) Getenv() func(string) string { return s.getenv }

// String binds a string flag with its default taken from env when set.
func (s *Set) String(p *string, name, env, def, usage string) {
	if v := s.getenv(env); v != "" {
		def = v
	}
	s.StringVar(p, name, def, usage+" (env "+env+")")
}

// Int binds an integer flag with its default taken from env when set.
func (s *Set) Int(p *int, name, env string, def int, usage string) {
	if v := s.getenv(env); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			s.errs = append(s.errs, fmt.Errorf("%s: %q is not an integer", env, v))
		} else {
			def = n
		}
	}
	s.IntVar(p, name, def, usage+" (env "+env+")")
}

// Duration binds a duration flag with its default taken from env when set.
func (s *Set) Duration(p *time.Duration, name, env string, def time.Duration, usage string) {
	if v := s.getenv(env); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			s.errs = append(s.errs, fmt.Errorf("%s: %q is not a duration", env, v))
		} else {
			def = d
		}
	}
	s.DurationVar(p, name, def, usage+" (env "+env+")")
}

// Parse parses args and reports every environment and flag error at once.
func (s *Set) Parse(args []string) error {
	if err := s.FlagSet.Parse(args); err != nil {
		s.errs = append(s.errs, err)
	}
	return errors.Join(s.errs...)
}
