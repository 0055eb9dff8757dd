// Package rest is how the three services answer HTTP requests: handlers
// that return their errors (written as RFC 9457 problems by package
// problem), JSON answers, strict JSON request bodies and checked query and
// path parameters, with the contract's limits.
package rest
