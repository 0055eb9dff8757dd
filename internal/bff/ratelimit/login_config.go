package ratelimit

import (
	"errors"
	"fmt"
)

// LoginConfig limits login attempts per client address and per account.
type LoginConfig struct {
	PerIP      Limit
	PerAccount Limit
}

// Validate reports every invalid limit at once.
func (c LoginConfig) Validate() error {
	return errors.Join(
		wrapErr("login per IP", c.PerIP.Validate()),
		wrapErr("login per account", c.PerAccount.Validate()),
	)
}

// wrapErr prefixes err, or each of the errors joined in it, with what.
func wrapErr(what string, err error) error {
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		var errs []error
		for _, e := range joined.Unwrap() {
			errs = append(errs, wrapErr(what, e))
		}
		return errors.Join(errs...)
	}
	if err == nil {
		return nil
	}
	return fmt.Errorf("ratelimit: %s: %w", what, err)
}
