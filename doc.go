// Package medrec is the domain of the medrec medical records service: its
// types, their validation, the error type with its codes, and the service
// interfaces that the adapters under internal/ implement. It imports only
// the standard library, so every adapter can depend on it and it on none.
package medrec
