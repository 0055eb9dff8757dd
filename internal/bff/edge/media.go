package edge

import (
	"mime"
	"net/http"
	"strconv"
	"strings"
)

// Media negotiation follows GraphQL over HTTP. The rules:
//
//   - The response is application/graphql-response+json or
//     application/json, whichever the Accept header prefers (q-values
//     honoured; at equal preference an exact type beats a wildcard, then
//     the one listed first, then application/json). "*/*", "application/*"
//     and a missing Accept header give application/json. An Accept header
//     that admits neither is not acceptable (406).
//   - Content-Type always names the charset: "…; charset=utf-8".
//   - A document that does not parse or does not validate (gqlgen's rules,
//     and the guard's own limits on size, depth, aliases, complexity…) is
//     answered with 200 when the client asked for application/json in its
//     Accept header (the specification's advice for that media type), and
//     with 400 otherwise: for application/graphql-response+json, and for a
//     request without an Accept header (the specification's default for it
//     since 2025 is application/graphql-response+json; its body is still
//     application/json, which legacy clients expect).
//   - Requests that are not well-formed (not JSON, parameters of the wrong
//     type, no query), too large, of an unsupported method or media type,
//     or not permitted keep their 4xx status whatever the media type.

// The response media types.
const (
	JSON                = "application/json"
	GraphQLResponseJSON = "application/graphql-response+json"
)

// Media is the negotiated form of a response.
type Media struct {
	// MediaType is JSON or GraphQLResponseJSON (JSON when nothing is
	// acceptable).
	MediaType string
	// Requested reports whether the request had an Accept header (with at
	// least one media range that parses).
	Requested bool
	// Acceptable is false when the Accept header admits neither media
	// type: the answer should be 406 Not Acceptable.
	Acceptable bool
}

// ContentType is the Content-Type header of the response.
func (n Media) ContentType() string {
	return n.MediaType + "; charset=utf-8"
}

// DocumentErrorStatus is the status of an answer to a request whose
// document does not parse or validate, and so was not executed: 200 when
// the client asked for application/json, 400 otherwise.
func (n Media) DocumentErrorStatus() int {
	if n.Requested && n.Acceptable && n.MediaType == JSON {
		return http.StatusOK
	}
	return http.StatusBadRequest
}

// Negotiate returns the response form r's Accept header asks for.
func Negotiate(r *http.Request) Media {
	return NegotiateAccept(strings.Join(r.Header.Values("Accept"), ","))
}

// mediaRange is one parsed element of an Accept header.
type mediaRange struct {
	typ, subtype string
	q            float64
}

// NegotiateAccept returns the response form an Accept header value asks
// for. Elements that do not parse are ignored; a header with none that
// parses counts as missing.
func NegotiateAccept(accept string) Media {
	ranges := parseAccept(accept)
	if len(ranges) == 0 {
		return Media{MediaType: JSON, Acceptable: true}
	}
	best, bestQ, bestSpec, bestPos := "", 0.0, -1, 0
	for _, candidate := range []string{JSON, GraphQLResponseJSON} {
		q, spec, pos := match(ranges, candidate)
		if q <= 0 {
			continue
		}
		better := q > bestQ ||
			(q == bestQ && spec > bestSpec) ||
			(q == bestQ && spec == bestSpec && pos < bestPos)
		if best == "" || better {
			best, bestQ, bestSpec, bestPos = candidate, q, spec, pos
		}
	}
	if best == "" {
		return Media{MediaType: JSON, Requested: true}
	}
	return Media{MediaType: best, Requested: true, Acceptable: true}
}

// match returns the q-value the most specific range matching mediaType
// gives it (0 when none matches), that range's specificity (2 for the exact
// type, 1 for type/*, 0 for */*) and its position.
func match(ranges []mediaRange, mediaType string) (q float64, spec, pos int) {
	typ, subtype, _ := strings.Cut(mediaType, "/")
	spec = -1
	for i, r := range ranges {
		s := -1
		switch {
		case r.typ == typ && r.subtype == subtype:
			s = 2
		case r.typ == typ && r.subtype == "*":
			s = 1
		case r.typ == "*" && r.subtype == "*":
			s = 0
		}
		if s > spec {
			q, spec, pos = r.q, s, i
		}
	}
	return q, spec, pos
}

// parseAccept parses the elements of an Accept header that are media
// ranges with a valid q-value (a missing one is 1).
func parseAccept(accept string) []mediaRange {
	var out []mediaRange
	for part := range strings.SplitSeq(accept, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		mt, params, err := mime.ParseMediaType(part)
		if err != nil {
			continue
		}
		typ, subtype, ok := strings.Cut(mt, "/")
		if !ok {
			if mt != "*" { // some clients send a bare "*"
				continue
			}
			typ, subtype = "*", "*"
		}
		if typ == "*" && subtype != "*" {
			continue
		}
		q := 1.0
		if s, ok := params["q"]; ok {
			v, err := strconv.ParseFloat(s, 64)
			if err != nil || v < 0 || v > 1 {
				continue
			}
			q = v
		}
		out = append(out, mediaRange{typ: typ, subtype: subtype, q: q})
	}
	return out
}

// IsJSON reports whether contentType is application/json, with any
// parameters: the only request body media type the BFFs accept.
func IsJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && mt == JSON
}
