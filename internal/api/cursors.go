package api

import (
	"github.com/acme/bff-gateway/internal/pagecursor"
)

// SortableTimeLayout writes UTC times fixed-width, so that text order is
// time order; order listings sort and page on it.
const SortableTimeLayout = "2006-01-02T15:04:05.000000Z"

// OrderCursor is the opaque cursor of the position just after o in a
// newest-first order listing. The order service answers next_cursor with it
// and a client may make one for any order of a page (a Relay edge cursor).
func OrderCursor(o Order) string {
	return pagecursor.Encode(pagecursor.Cursor{Key: o.CreatedAt.UTC().Format(SortableTimeLayout), ID: o.ID})
}

// ProductCursor is the opaque cursor of the position just after p in the
// catalogue listing, which is ordered by name, then id.
func ProductCursor(p Product) string {
	return pagecursor.Encode(pagecursor.Cursor{Key: p.Name, ID: p.ID})
}
