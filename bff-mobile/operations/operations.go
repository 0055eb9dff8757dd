// Package operations embeds the mobile client's GraphQL documents: the
// contract the BFF is tested against, and the trusted documents it accepts
// when it runs in trusted-documents mode.
package operations

import (
	"embed"
	"io/fs"
	"strings"
)

//go:embed *.graphql
var files embed.FS

// Documents returns each document's text by its file name without the
// extension.
func Documents() map[string]string {
	out := map[string]string{}
	entries, _ := fs.ReadDir(files, ".")
	for _, e := range entries {
		b, err := fs.ReadFile(files, e.Name())
		if err != nil {
			continue
		}
		out[strings.TrimSuffix(e.Name(), ".graphql")] = string(b)
	}
	return out
}
