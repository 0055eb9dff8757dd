// Package e2e holds end-to-end tests that run the BFFs in-process against
// the real services and drive them with outside tools run by Node.js from
// internal/tools/nodetests: graphql-http's GraphQL-over-HTTP audit suite
// (audit_test.go) and Apollo Client (apollo_test.go). They skip when node or
// the installed Node packages are missing, and fail instead under CI.
package e2e
