package medrec

import "context"

// Caller is the authenticated user on whose behalf a request runs. The
// database adapter hands it to PostgreSQL transaction by transaction, where
// the audit triggers and row-level security read it.
type Caller struct {
	UserID    string
	Role      Role
	SessionID string
	// DoctorID is the caller's doctor record, for a linked CLINICIAN.
	DoctorID string
	// MFAPending: the session may only use PermSelf until a second factor
	// is confirmed.
	MFAPending bool
}

// Can reports whether the caller may use a route needing p.
func (c *Caller) Can(p Permission) bool {
	if c.MFAPending {
		return p == PermSelf || p == PermPublic
	}
	return c.Role.Can(p)
}

type callerKey struct{}

// NewContextWithCaller returns a copy of ctx that carries c.
func NewContextWithCaller(ctx context.Context, c *Caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

// CallerFromContext returns the caller carried by ctx, or nil when the work
// is the system's own (start-up, migrations) or nobody is signed in.
func CallerFromContext(ctx context.Context) *Caller {
	c, _ := ctx.Value(callerKey{}).(*Caller)
	return c
}

type requestIDKey struct{}

// NewContextWithRequestID returns a copy of ctx carrying the HTTP request id,
// so that audit rows written deeper down can name the request.
func NewContextWithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestIDFromContext returns the request id carried by ctx, or "".
func RequestIDFromContext(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

type routeKey struct{}

// NewContextWithRoute returns a copy of ctx carrying the route (the
// ServeMux pattern, e.g. "GET /api/v1/patients/{id}") that serves the
// request, so that READ audit rows can say how a record was reached.
func NewContextWithRoute(ctx context.Context, route string) context.Context {
	return context.WithValue(ctx, routeKey{}, route)
}

// RouteFromContext returns the route carried by ctx, or "".
func RouteFromContext(ctx context.Context) string {
	r, _ := ctx.Value(routeKey{}).(string)
	return r
}
