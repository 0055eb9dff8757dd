// Package operations embeds the web client's GraphQL documents: the
// contract the BFF is tested against, and the trusted documents it accepts
// when it runs in trusted-documents mode.
package operations

import (
	"embed"

	"github.com/acme/bff-gateway/internal/bff/gqldocs"
)

//go:embed *.graphql
var files embed.FS

// Documents returns each document's text by its file name without the
// extension.
func Documents() map[string]string {
	docs, err := gqldocs.Read(files)
	if err != nil {
		panic(err) // the files are embedded: unreadable means a broken build
	}
	return docs
}
