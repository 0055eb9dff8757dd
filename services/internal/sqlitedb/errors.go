package sqlitedb

import (
	"errors"
	"fmt"

	"github.com/acme/bff-gateway/internal/apperr"
)

// coder is the interface of the SQLite driver's errors.
type coder interface{ Code() int }

// SQLite's primary result codes for a lock held elsewhere.
const (
	codeBusy   = 5
	codeLocked = 6
)

// Error wraps a database failure with op. A lock that stayed busy past
// the busy timeout becomes apperr.Unavailable (503, worth a retry) rather
// than an internal error.
func Error(op string, err error) error {
	var c coder
	if errors.As(err, &c) {
		if code := c.Code() & 0xff; code == codeBusy || code == codeLocked {
			return apperr.Wrap(apperr.Unavailable, "the database is busy, retry later", fmt.Errorf("%s: %w", op, err))
		}
	}
	return fmt.Errorf("%s: %w", op, err)
}
