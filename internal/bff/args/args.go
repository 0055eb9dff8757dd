// Package args reads the arguments of GraphQL fields that the schemas of
// both BFFs share in kind: page sizes within their bounds, and optional
// values.
package args

import "github.com/acme/bff-gateway/internal/apperr"

// PageSize reads a page-size argument: def when absent, else 1 to max. It
// returns BAD_USER_INPUT naming the argument.
func PageSize(arg *int, name string, def, max int) (int, error) {
	if arg == nil {
		return def, nil
	}
	if *arg < 1 || *arg > max {
		return 0, apperr.InvalidParam(name, "%s must be from 1 to %d", name, max)
	}
	return *arg, nil
}

// Value returns the value of an optional argument, the zero value when it
// is absent.
func Value[T any](arg *T) T {
	if arg == nil {
		var zero T
		return zero
	}
	return *arg
}
