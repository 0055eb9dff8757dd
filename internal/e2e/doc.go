// Package e2e holds end-to-end tests that run the BFFs in-process against
// the real services and drive them with outside tools: run by Node.js from
// internal/tools/nodetests, graphql-http's GraphQL-over-HTTP audit suite
// (audit_test.go) and Apollo Client (apollo_test.go); a real Prometheus
// loaded with deploy/prometheus's rules, checked against every query of
// deploy/grafana's dashboard (prometheus_test.go). They skip when the tool
// is missing, and fail instead under CI. tracing_test.go receives the
// spans of a BFF and the three services over OTLP/HTTP and checks one
// request is one trace. deploy_test.go builds deploy/k8s's kustomization
// offline, decodes it strictly into the Kubernetes API types and holds it,
// and deploy/docker's Dockerfile, to what the binaries read and serve.
package e2e
