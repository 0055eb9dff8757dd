package guard

import (
	"log/slog"
	"net/http"

	"github.com/acme/bff-gateway/internal/bff/edge"
	"github.com/acme/bff-gateway/internal/requestctx"
)

// The extensions.code values of the guard's refusals. Each refusal is a
// GraphQL-shaped JSON body {"errors":[{"message", "extensions":{"code", …}}]}
// whose extensions also carry the limit and the measured value where there
// is one, and requestId when the request has an id. Its Content-Type is the
// media type the Accept header asks for (application/json or
// application/graphql-response+json, with charset=utf-8; see edge.Media).
// The statuses below are those of application/graphql-response+json and of
// a request without an Accept header; when the client asks for
// application/json, a document that does not parse or passes a limit
// (GRAPHQL_PARSE_FAILED, QUERY_TOO_LARGE and the limits after it) is
// answered with 200, as GraphQL over HTTP advises for that media type.
const (
	// CodeRequestTooLarge (413): the POST body, or a GET query string, is
	// over MaxBodyBytes.
	CodeRequestTooLarge = "REQUEST_TOO_LARGE"
	// CodeBadRequest (400): the body is not JSON, not a GraphQL request
	// object, has variables that are not an object, has no query, or has a
	// malformed persistedQuery extension.
	CodeBadRequest = "BAD_REQUEST"
	// CodeBatchingDisabled (400): a JSON array body while batching is off.
	CodeBatchingDisabled = "BATCHING_DISABLED"
	// CodeBatchTooLarge (400): a batch of more than Batching.MaxOperations
	// operations, or an empty one.
	CodeBatchTooLarge = "BATCH_TOO_LARGE"
	// CodeQueryTooLarge (400): the document has more than MaxTokens tokens.
	CodeQueryTooLarge = "QUERY_TOO_LARGE"
	// CodeQueryTooDeep (400): the selected operation nests deeper than
	// MaxDepth.
	CodeQueryTooDeep = "QUERY_TOO_DEEP"
	// CodeTooManyAliases (400): more than MaxAliases aliased fields.
	CodeTooManyAliases = "TOO_MANY_ALIASES"
	// CodeTooManyRootFields (400): more than MaxRootFields root fields.
	CodeTooManyRootFields = "TOO_MANY_ROOT_FIELDS"
	// CodeTooManyDirectives (400): more than MaxDirectives directive uses.
	CodeTooManyDirectives = "TOO_MANY_DIRECTIVES"
	// CodeQueryTooComplex (400): a cost above MaxComplexity.
	CodeQueryTooComplex = "QUERY_TOO_COMPLEX"
	// CodeTooManyFragmentSpreads (400): the document holds more than
	// MaxFragmentSpreads fragment spreads.
	CodeTooManyFragmentSpreads = "TOO_MANY_FRAGMENT_SPREADS"
	// CodeTooManyRepeatedFields (400): the document repeats response names
	// in a selection set more than MaxRepeatedFields times.
	CodeTooManyRepeatedFields = "TOO_MANY_REPEATED_FIELDS"
	// CodeFragmentCycle (400): the selected operation spreads a fragment
	// that spreads itself.
	CodeFragmentCycle = "FRAGMENT_CYCLE"
	// CodeDeferNotSupported (400): the selected operation marks a
	// fragment @defer, which needs an incremental (multipart) answer; the
	// BFF answers every operation in one response.
	CodeDeferNotSupported = "DEFER_NOT_SUPPORTED"
	// CodeParseFailed (400): the document does not parse (gqlgen's own
	// code for that).
	CodeParseFailed = edge.CodeParseFailed
	// CodeMethodNotAllowed refuses a mutation sent with GET (405).
	CodeMethodNotAllowed = edge.CodeMethodNotAllowed
	// CodePersistedQueryNotFound (200, as Apollo Client expects): a
	// hash-only APQ request whose hash is not registered; the client
	// retries with the query text.
	CodePersistedQueryNotFound = "PERSISTED_QUERY_NOT_FOUND"
	// CodePersistedQueryNotSupported (400): a hash-only request while APQ is
	// disabled, or a persistedQuery version other than 1.
	CodePersistedQueryNotSupported = "PERSISTED_QUERY_NOT_SUPPORTED"
	// CodePersistedQueryHashMismatch (400): the sha256Hash is not the
	// SHA-256 of the query sent with it.
	CodePersistedQueryHashMismatch = "PERSISTED_QUERY_HASH_MISMATCH"
	// CodePersistedQueryNotAllowed (400): in trusted-documents mode, a
	// document that is not in the manifest.
	CodePersistedQueryNotAllowed = "PERSISTED_QUERY_NOT_ALLOWED"
)

// maxMessageBytes bounds a parse error's message, which may quote a token.
const maxMessageBytes = 200

// refusal is an answer the guard gives instead of calling the next handler.
type refusal = edge.Refusal

// refuse returns a refusal; a document refusal (documentCodes) has the
// status of its media type.
func refuse(status int, code, message string, ext map[string]any) *refusal {
	return &refusal{Status: status, Code: code, Message: message, Extensions: ext, Document: documentCodes[code]}
}

func badRequest(message string) *refusal {
	return refuse(http.StatusBadRequest, CodeBadRequest, message, nil)
}

// documentCodes are the refusals of a document that does not parse or
// passes one of the guard's limits: in GraphQL-over-HTTP terms, a document
// parsing or validation failure (the limits are the server's own
// validation rules). Their status follows the response's media type (see
// edge.Media.DocumentErrorStatus): 400, or 200 when the client asked for
// application/json. Every other refusal keeps its status.
var documentCodes = map[string]bool{
	CodeParseFailed:            true,
	CodeQueryTooLarge:          true,
	CodeQueryTooDeep:           true,
	CodeTooManyAliases:         true,
	CodeTooManyRootFields:      true,
	CodeTooManyDirectives:      true,
	CodeQueryTooComplex:        true,
	CodeTooManyFragmentSpreads: true,
	CodeTooManyRepeatedFields:  true,
	CodeFragmentCycle:          true,
	CodeDeferNotSupported:      true,
}

// write logs and counts the refusal and answers the request with it.
func (g *guard) write(w http.ResponseWriter, r *http.Request, f *refusal) {
	g.refused(f.Code)
	ctx := r.Context()
	requestctx.LoggerFromContext(ctx).InfoContext(ctx, "graphql request refused",
		slog.String("code", f.Code), slog.Any("details", f.Extensions))
	f.Write(w, r)
}

// truncate cuts s to at most n bytes without splitting a UTF-8 sequence.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := n
	for i > 0 && s[i]&0xC0 == 0x80 {
		i--
	}
	return s[:i] + "…"
}

// refused tells the hooks of a refusal.
func (g *guard) refused(code string) {
	if g.cfg.Hooks.Refused != nil {
		g.cfg.Hooks.Refused(code)
	}
}
