// Package httpapi is medrec's JSON API over HTTP: one route table
// (routes.go), one file per resource, errors as RFC 9457
// application/problem+json, and the middleware every request passes through
// (request id, access log, metrics, panic recovery, security headers, body
// limit). It depends on the domain package medrec and on the service
// interfaces it declares; it never imports another adapter.
package httpapi
