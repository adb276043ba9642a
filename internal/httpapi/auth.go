package httpapi

import (
	"math"
	"net"
	"net/http"
	"strconv"
	"time"

	"medrec"
)

// LoginThrottle limits failed sign-ins per client address. It never locks
// an account: that is the database's count of consecutive failures.
type LoginThrottle interface {
	Allowed(key string) (ok bool, retryAfter time.Duration)
	Failure(key string)
}

type loginRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
	TOTPCode string `json:"totp_code"`
}

type refreshRequest struct {
	RefreshToken string `json:"refresh_token"`
}

// tokenResponse is the answer to login and refresh.
type tokenResponse struct {
	AccessToken          string       `json:"access_token"`
	TokenType            string       `json:"token_type"`
	ExpiresIn            int          `json:"expires_in"`
	RefreshToken         string       `json:"refresh_token"`
	User                 *medrec.User `json:"user"`
	MFAEnrolmentRequired bool         `json:"mfa_enrolment_required"`
}

func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	addr := clientAddr(r)
	if s.throttle != nil {
		if ok, retry := s.throttle.Allowed(addr); !ok {
			w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(retry.Seconds()))))
			writeError(w, r, medrec.Errorf(medrec.ETHROTTLED, "too many failed sign-ins from this address; retry later"))
			return
		}
	}
	var in loginRequest
	if err := decodeJSON(w, r, &in); err != nil {
		writeError(w, r, err)
		return
	}
	if err := requireFields(field{"email", in.Email}, field{"password", in.Password}); err != nil {
		writeError(w, r, err)
		return
	}
	if s.auth == nil {
		writeError(w, r, errNotConfigured)
		return
	}
	tokens, err := s.auth.Login(r.Context(), medrec.Credentials{Email: in.Email, Password: in.Password, TOTPCode: in.TOTPCode})
	if err != nil {
		if medrec.ErrorCode(err) == medrec.EUNAUTHORIZED && s.throttle != nil {
			s.throttle.Failure(addr)
		}
		writeError(w, r, err)
		return
	}
	s.writeTokens(w, r, tokens)
}

func (s *Server) handleRefresh(w http.ResponseWriter, r *http.Request) {
	var in refreshRequest
	if err := decodeJSON(w, r, &in); err != nil {
		writeError(w, r, err)
		return
	}
	if err := requireFields(field{"refresh_token", in.RefreshToken}); err != nil {
		writeError(w, r, err)
		return
	}
	if s.auth == nil {
		writeError(w, r, errNotConfigured)
		return
	}
	tokens, err := s.auth.Refresh(r.Context(), in.RefreshToken)
	if err != nil {
		writeError(w, r, err)
		return
	}
	s.writeTokens(w, r, tokens)
}

func (s *Server) writeTokens(w http.ResponseWriter, r *http.Request, t *medrec.Tokens) {
	respond(w, r, http.StatusOK, tokenResponse{
		AccessToken:          t.AccessToken,
		TokenType:            "Bearer",
		ExpiresIn:            int(time.Until(t.ExpiresAt).Round(time.Second).Seconds()),
		RefreshToken:         t.RefreshToken,
		User:                 t.User,
		MFAEnrolmentRequired: t.MFAEnrolmentRequired,
	})
}

func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	if err := s.auth.Logout(r.Context()); err != nil {
		writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// clientAddr is the address failed sign-ins are counted against: the TCP
// peer. X-Forwarded-For is ignored on purpose; anyone can write it.
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// errNotConfigured answers sign-in and refresh on a server built without an
// AuthService (tests of the skeleton): they are public, so authorize never
// stands in front of them. New refuses such a configuration.
var errNotConfigured = medrec.Errorf(medrec.EUNAVAILABLE, "this part of the service is not available")
