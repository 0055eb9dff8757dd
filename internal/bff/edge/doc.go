// Package edge is where a GraphQL request over HTTP becomes an HTTP answer,
// for both BFFs: the media type of every answer and the status that goes
// with it (GraphQL over HTTP), the extensions.code of every error, the
// refusals written before anything runs, the 429s with their Retry-After
// and RateLimit-* headers, and the client's address, determined once per
// request.
//
// On /graphql, outermost first (internal/bff assembles the chain):
//
//	Begin            the request's deadline, the client's address (once), the
//	                 negotiated media type, Vary: Accept
//	LimitAddresses   requests per address, before anything is read
//	<before guard>   the BFF's own checks: CSRF (web), API key and bearer (mobile)
//	RequestsOnly     405, 415, 406, and no WebSocket upgrades
//	guard            decoding, persisted documents, size and cost limits
//	<after guard>    the web session; the mobile time zone
//	LimitOperations  each operation's cost from its principal's bucket
//	Answer           the operation's request.State and the one response writer
//	                 that gqlgen writes through
//
// Everything refused before Answer writes a whole answer with Refuse or
// Refusal.Write, in the negotiated media type; nothing refused makes an
// upstream request. Answer's writer sets the negotiated Content-Type,
// maps gqlgen's statuses onto GraphQL over HTTP's and turns the answer into
// a 429 when the operation was throttled while it ran (request.State). It
// never buffers or re-encodes a body.
package edge
