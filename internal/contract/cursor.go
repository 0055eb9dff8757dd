package contract

import (
	"encoding/base64"
	"errors"
	"strings"
)

// ErrMalformedCursor is returned for a cursor that DecodeCursor cannot
// read: one this package did not make.
var ErrMalformedCursor = errors.New("malformed cursor")

const cursorVersion = "c1"

// maxCursorLen bounds an encoded cursor.
const maxCursorLen = 512

// Cursor is a keyset position of a listing: just after the item with this
// sort key and id. Its opaque form (EncodeCursor) is what the services
// answer as next_cursor and take back as cursor.
type Cursor struct {
	Key string
	ID  string
}

// EncodeCursor returns the cursor's opaque form.
func EncodeCursor(c Cursor) string {
	return base64.RawURLEncoding.EncodeToString([]byte(cursorVersion + "\x00" + c.Key + "\x00" + c.ID))
}

// DecodeCursor parses an opaque cursor; it returns ErrMalformedCursor for
// anything EncodeCursor did not make.
func DecodeCursor(s string) (Cursor, error) {
	if len(s) > maxCursorLen {
		return Cursor{}, ErrMalformedCursor
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return Cursor{}, ErrMalformedCursor
	}
	parts := strings.Split(string(b), "\x00")
	if len(parts) != 3 || parts[0] != cursorVersion || parts[2] == "" {
		return Cursor{}, ErrMalformedCursor
	}
	return Cursor{Key: parts[1], ID: parts[2]}, nil
}

// SortableTimeLayout writes UTC times fixed-width, so that text order is
// time order; order listings sort and page on it.
const SortableTimeLayout = "2006-01-02T15:04:05.000000Z"

// OrderCursor is the opaque cursor of the position just after o in a
// newest-first order listing. The order service answers next_cursor with it
// and a client may make one for any order of a page (a Relay edge cursor).
func OrderCursor(o Order) string {
	return EncodeCursor(Cursor{Key: o.CreatedAt.UTC().Format(SortableTimeLayout), ID: o.ID})
}

// ProductCursor is the opaque cursor of the position just after p in the
// catalogue listing, which is ordered by name, then id.
func ProductCursor(p Product) string {
	return EncodeCursor(Cursor{Key: p.Name, ID: p.ID})
}
