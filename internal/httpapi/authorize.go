package httpapi

import (
	"log/slog"
	"net/http"
	"strings"

	"medrec"
)

// authorize lets a request through to next only if it carries a valid
// access token of a live session whose role holds perm. Deny by default:
// without an AuthService every route that is not public answers 401.
// Authenticated but not permitted is 403: the role may never do this. A
// record the caller may not see is the services' 404, not this.
func (s *Server) authorize(perm Permission, next http.Handler) http.Handler {
	if perm == PermissionPublic {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, ok := bearerToken(r)
		if !ok || s.auth == nil {
			writeError(w, r, medrec.Errorf(medrec.EUNAUTHORIZED, "authentication required"))
			return
		}
		caller, err := s.auth.Authenticate(r.Context(), token)
		if err != nil {
			writeError(w, r, err)
			return
		}
		if st := stateFrom(r.Context()); st != nil {
			st.logger = st.logger.With(slog.String("user_id", caller.UserID))
		}
		if !caller.Can(perm) {
			msg := "your role may not do this"
			if caller.MFAPending {
				msg = "enrol a second factor first (POST /api/v1/me/mfa/totp)"
			}
			writeError(w, r, medrec.Errorf(medrec.EFORBIDDEN, "%s", msg))
			return
		}
		next.ServeHTTP(w, r.WithContext(medrec.NewContextWithCaller(r.Context(), caller)))
	})
}

// bearerToken reads "Authorization: Bearer <token>".
func bearerToken(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}
