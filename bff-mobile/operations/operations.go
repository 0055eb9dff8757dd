// Package operations embeds the mobile client's GraphQL documents: the
// contract the BFF is tested against, and the trusted documents it accepts
// when it runs in trusted-documents mode.
//
// manifest.json is the same documents as Apollo Client sends them (printed
// by graphql-js, with __typename added), in the format of Apollo's
// persisted query manifests; it is generated from the .graphql files by
// internal/tools/nodetests/manifest.mjs:
//
//	node internal/tools/nodetests/manifest.mjs
//
// and a test fails when it is not up to date.
package operations

import (
	"bytes"
	"embed"

	"github.com/acme/bff-gateway/internal/bff/gqldocs"
)

//go:embed *.graphql
var files embed.FS

//go:embed manifest.json
var manifest []byte

// Documents returns each document's text by its file name without the
// extension.
func Documents() map[string]string {
	docs, err := gqldocs.Read(files)
	if err != nil {
		panic(err) // the files are embedded: unreadable means a broken build
	}
	return docs
}

// Manifest returns a copy of manifest.json: the persisted query manifest
// of the documents as Apollo Client sends them (see
// guard.ParsePersistedManifest).
func Manifest() []byte {
	return bytes.Clone(manifest)
}
