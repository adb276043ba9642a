package httpapi

import (
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"medrec"
)

// Permission names what a caller must be allowed to do to use a route.
// Every route names one; there is no default, so a route nobody thought
// about cannot be reached by accident. Which role holds which permission is
// the domain's table (medrec.RolePermissions), not this package's.
type Permission = medrec.Permission

// PermissionPublic marks a route anyone may call without a token: probes,
// metrics, login, the OpenAPI document.
const PermissionPublic = medrec.PermPublic

// Route is one entry of the route table.
type Route struct {
	// Method is the HTTP method; GET also answers HEAD.
	Method string
	// Pattern is a net/http ServeMux path pattern such as
	// "/api/v1/patients/{id}". It is also the "route" label of the
	// metrics and the access log, so ids never reach either.
	Pattern string
	// Permission is what the caller needs. Registration panics when it
	// is empty.
	Permission Permission
	// Handler serves the route.
	Handler http.Handler
	// MaxBodyBytes overrides the server's request body limit, for the
	// few routes (file uploads) that need more. Zero means the default.
	MaxBodyBytes int64
}

// routeTable is the API: every route the server answers, in one place.
// Add a resource's routes here, each with the Permission it needs, and
// write its handlers as methods on Server in the resource's own file.
func (s *Server) routeTable() []Route {
	metrics := promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{
		ErrorLog: slog.NewLogLogger(s.log.With(slog.String("component", "promhttp")).Handler(), slog.LevelError),
		Registry: s.registry,
	})
	doc, err := OpenAPIDocument()
	if err != nil {
		panic(fmt.Sprintf("httpapi: %v", err))
	}
	return []Route{
		{Method: http.MethodGet, Pattern: "/healthz", Permission: PermissionPublic, Handler: http.HandlerFunc(s.handleHealthz)},
		{Method: http.MethodGet, Pattern: "/readyz", Permission: PermissionPublic, Handler: http.HandlerFunc(s.handleReadyz)},
		{Method: http.MethodGet, Pattern: "/metrics", Permission: PermissionPublic, Handler: metrics},
		{Method: http.MethodGet, Pattern: "/api/v1/openapi.json", Permission: PermissionPublic, Handler: openapiHandler(doc)},

		{Method: http.MethodPost, Pattern: "/api/v1/auth/login", Permission: PermissionPublic, Handler: http.HandlerFunc(s.handleLogin)},
		{Method: http.MethodPost, Pattern: "/api/v1/auth/refresh", Permission: PermissionPublic, Handler: http.HandlerFunc(s.handleRefresh)},
		{Method: http.MethodPost, Pattern: "/api/v1/auth/logout", Permission: medrec.PermAccount, Handler: http.HandlerFunc(s.handleLogout)},
		{Method: http.MethodGet, Pattern: "/api/v1/me", Permission: medrec.PermSelf, Handler: http.HandlerFunc(s.handleMe)},
		{Method: http.MethodPut, Pattern: "/api/v1/me/password", Permission: medrec.PermAccount, Handler: http.HandlerFunc(s.handleChangePassword)},
		{Method: http.MethodPost, Pattern: "/api/v1/me/mfa/totp", Permission: medrec.PermSelf, Handler: http.HandlerFunc(s.handleEnrolTOTP)},
		{Method: http.MethodPost, Pattern: "/api/v1/me/mfa/totp/confirm", Permission: medrec.PermSelf, Handler: http.HandlerFunc(s.handleConfirmTOTP)},

		{Method: http.MethodPost, Pattern: "/api/v1/users", Permission: medrec.PermUsersManage, Handler: http.HandlerFunc(s.handleUserCreate)},
		{Method: http.MethodGet, Pattern: "/api/v1/users", Permission: medrec.PermUsersManage, Handler: http.HandlerFunc(s.handleUserList)},
		{Method: http.MethodGet, Pattern: "/api/v1/users/{id}", Permission: medrec.PermUsersManage, Handler: http.HandlerFunc(s.handleUserGet)},
		{Method: http.MethodPatch, Pattern: "/api/v1/users/{id}", Permission: medrec.PermUsersManage, Handler: http.HandlerFunc(s.handleUserUpdate)},

		// patients
		{Method: http.MethodPost, Pattern: "/api/v1/patients", Permission: medrec.PermPatientsWrite, Handler: http.HandlerFunc(s.handlePatientCreate)},
		{Method: http.MethodGet, Pattern: "/api/v1/patients", Permission: medrec.PermPatientsRead, Handler: http.HandlerFunc(s.handlePatientList)},
		{Method: http.MethodGet, Pattern: "/api/v1/patients/{id}", Permission: medrec.PermPatientsRead, Handler: http.HandlerFunc(s.handlePatientGet)},
		{Method: http.MethodPatch, Pattern: "/api/v1/patients/{id}", Permission: medrec.PermPatientsWrite, Handler: http.HandlerFunc(s.handlePatientUpdate)},
		{Method: http.MethodPost, Pattern: "/api/v1/patients/lookup", Permission: medrec.PermPatientsLookup, Handler: http.HandlerFunc(s.handlePatientLookup)},
		{Method: http.MethodPost, Pattern: "/api/v1/patients/{id}/erase", Permission: medrec.PermPatientsErase, Handler: http.HandlerFunc(s.handlePatientErase)},

		// doctors (PATCH: ADMIN any field, a CLINICIAN the contact fields of their own record; the handler and service decide)
		{Method: http.MethodPost, Pattern: "/api/v1/doctors", Permission: medrec.PermDoctorsManage, Handler: http.HandlerFunc(s.handleDoctorCreate)},
		{Method: http.MethodGet, Pattern: "/api/v1/doctors", Permission: medrec.PermDoctorsRead, Handler: http.HandlerFunc(s.handleDoctorList)},
		{Method: http.MethodGet, Pattern: "/api/v1/doctors/{id}", Permission: medrec.PermDoctorsRead, Handler: http.HandlerFunc(s.handleDoctorGet)},
		{Method: http.MethodPatch, Pattern: "/api/v1/doctors/{id}", Permission: medrec.PermDoctorsUpdate, Handler: http.HandlerFunc(s.handleDoctorUpdate)},

		{Method: http.MethodGet, Pattern: "/api/v1/patients/{id}/care-team", Permission: medrec.PermCareTeamManage, Handler: http.HandlerFunc(s.handleCareTeamList)},
		{Method: http.MethodPost, Pattern: "/api/v1/patients/{id}/care-team", Permission: medrec.PermCareTeamManage, Handler: http.HandlerFunc(s.handleCareTeamAdd)},
		{Method: http.MethodDelete, Pattern: "/api/v1/patients/{id}/care-team/{user_id}", Permission: medrec.PermCareTeamManage, Handler: http.HandlerFunc(s.handleCareTeamRemove)},

		// reports
		{Method: http.MethodPost, Pattern: "/api/v1/patients/{id}/reports", Permission: medrec.PermClinicalWrite, Handler: http.HandlerFunc(s.handleReportCreate), MaxBodyBytes: s.reportMax + reportUploadOverhead},
		{Method: http.MethodGet, Pattern: "/api/v1/patients/{id}/reports", Permission: medrec.PermClinicalRead, Handler: http.HandlerFunc(s.handleReportList)},
		{Method: http.MethodGet, Pattern: "/api/v1/reports/{id}", Permission: medrec.PermClinicalRead, Handler: http.HandlerFunc(s.handleReportGet)},
		{Method: http.MethodPatch, Pattern: "/api/v1/reports/{id}", Permission: medrec.PermClinicalWrite, Handler: http.HandlerFunc(s.handleReportUpdate)},
		{Method: http.MethodGet, Pattern: "/api/v1/reports/{id}/file", Permission: medrec.PermClinicalRead, Handler: http.HandlerFunc(s.handleReportFile)},

		// prescriptions and history
		{Method: http.MethodPost, Pattern: "/api/v1/patients/{id}/prescriptions", Permission: medrec.PermClinicalWrite, Handler: http.HandlerFunc(s.handlePrescriptionCreate)},
		{Method: http.MethodGet, Pattern: "/api/v1/patients/{id}/prescriptions", Permission: medrec.PermClinicalRead, Handler: http.HandlerFunc(s.handlePrescriptionList)},
		{Method: http.MethodGet, Pattern: "/api/v1/prescriptions/expiring", Permission: medrec.PermClinicalRead, Handler: http.HandlerFunc(s.handlePrescriptionExpiring)},
		{Method: http.MethodGet, Pattern: "/api/v1/prescriptions/{id}", Permission: medrec.PermClinicalRead, Handler: http.HandlerFunc(s.handlePrescriptionGet)},
		{Method: http.MethodPatch, Pattern: "/api/v1/prescriptions/{id}", Permission: medrec.PermClinicalWrite, Handler: http.HandlerFunc(s.handlePrescriptionUpdate)},
		{Method: http.MethodGet, Pattern: "/api/v1/patients/{id}/history", Permission: medrec.PermClinicalRead, Handler: http.HandlerFunc(s.handleHistoryGet)},

		// emergency access (break-glass) and the accounting of disclosures
		{Method: http.MethodPost, Pattern: "/api/v1/emergency-access", Permission: medrec.PermEmergencyAsk, Handler: http.HandlerFunc(s.handleEmergencyCreate)},
		{Method: http.MethodGet, Pattern: "/api/v1/emergency-access", Permission: medrec.PermEmergencyRead, Handler: http.HandlerFunc(s.handleEmergencyList)},
		{Method: http.MethodGet, Pattern: "/api/v1/emergency-access/audit", Permission: medrec.PermEmergencyReport, Handler: http.HandlerFunc(s.handleEmergencyAudit)},
		{Method: http.MethodGet, Pattern: "/api/v1/emergency-access/{id}", Permission: medrec.PermEmergencyRead, Handler: http.HandlerFunc(s.handleEmergencyGet)},
		{Method: http.MethodPost, Pattern: "/api/v1/emergency-access/{id}/approve", Permission: medrec.PermEmergencyDecide, Handler: s.handleEmergencyDecide(medrec.EmergencyApprove)},
		{Method: http.MethodPost, Pattern: "/api/v1/emergency-access/{id}/deny", Permission: medrec.PermEmergencyDecide, Handler: s.handleEmergencyDecide(medrec.EmergencyDeny)},
		{Method: http.MethodPost, Pattern: "/api/v1/emergency-access/{id}/revoke", Permission: medrec.PermEmergencyDecide, Handler: s.handleEmergencyDecide(medrec.EmergencyRevoke)},
		{Method: http.MethodGet, Pattern: "/api/v1/patients/{id}/access-log", Permission: medrec.PermAccessLogRead, Handler: http.HandlerFunc(s.handlePatientAccessLog)},
		// audit log (ADMIN)
		{Method: http.MethodGet, Pattern: "/api/v1/audit", Permission: medrec.PermAuditRead, Handler: http.HandlerFunc(s.handleAuditList)},
	}
}

// mount registers routes on mux, each wrapped in what every route needs:
// its route label, its body limit and its permission check. It panics on
// a malformed entry; ServeMux itself panics on conflicting patterns.
func (s *Server) mount(mux *http.ServeMux, routes []Route) {
	for _, rt := range routes {
		if err := rt.validate(); err != nil {
			panic(fmt.Sprintf("httpapi: route %s %s: %v", rt.Method, rt.Pattern, err))
		}
		limit := rt.MaxBodyBytes
		if limit == 0 {
			limit = s.maxBody
		}
		h := rt.Handler
		if idempotentRoute(rt) {
			h = s.idempotent(h)
		}
		h = labelRoute(rt.Pattern, limitBody(limit, s.authorize(rt.Permission, h)))
		mux.Handle(rt.Method+" "+rt.Pattern, h)
	}
}

func (rt Route) validate() error {
	switch {
	case rt.Permission == "":
		return fmt.Errorf("no Permission: name one, or PermissionPublic")
	case rt.Method == "" || strings.ContainsAny(rt.Method, " /"):
		return fmt.Errorf("Method %q is not an HTTP method", rt.Method)
	case !strings.HasPrefix(rt.Pattern, "/"):
		return fmt.Errorf("Pattern %q must be a path starting with /", rt.Pattern)
	case rt.Handler == nil:
		return fmt.Errorf("no Handler")
	case rt.MaxBodyBytes < 0:
		return fmt.Errorf("negative MaxBodyBytes %d", rt.MaxBodyBytes)
	}
	return nil
}

// labelRoute records the matched pattern for the access log and the
// metrics, which run outside the mux and would otherwise only see the raw
// path, ids and all, and puts the ServeMux pattern (method and path) in the
// context for the READ audit rows.
func labelRoute(pattern string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if st := stateFrom(r.Context()); st != nil {
			st.route = pattern
		}
		route := r.Pattern // "GET /api/v1/patients/{id}", set by ServeMux
		if route == "" {
			route = pattern
		}
		next.ServeHTTP(w, r.WithContext(medrec.NewContextWithRoute(r.Context(), route)))
	})
}
