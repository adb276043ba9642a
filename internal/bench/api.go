package bench

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// API drives the real HTTP server.
type API struct {
	Base   string // e.g. http://127.0.0.1:41234
	Client *http.Client
}

// NewAPI returns an API client for base with enough idle connections for
// concurrency clients, so that a run measures requests, not TCP handshakes.
func NewAPI(base string, concurrency int) *API {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = 4 * concurrency
	tr.MaxIdleConnsPerHost = 4 * concurrency
	return &API{Base: base, Client: &http.Client{Transport: tr, Timeout: time.Minute}}
}

// Session is a signed-in user: the access token for the API and the same
// session as the raw baseline presents it.
type Session struct {
	Token    string
	Identity Identity
}

// Login signs in through POST /api/v1/auth/login.
func (a *API) Login(ctx context.Context, email, password string) (*Session, error) {
	body, _ := json.Marshal(map[string]string{"email": email, "password": password})
	var out struct {
		AccessToken string `json:"access_token"`
		User        struct {
			ID   string `json:"id"`
			Role string `json:"role"`
		} `json:"user"`
	}
	if err := a.do(ctx, http.MethodPost, "/api/v1/auth/login", "", body, http.StatusOK, &out); err != nil {
		return nil, fmt.Errorf("sign in as %s: %w", email, err)
	}
	// The session id is the token's sid claim; the raw baseline checks
	// the same session the API's requests do.
	parts := strings.Split(out.AccessToken, ".")
	if len(parts) != 3 {
		return nil, fmt.Errorf("sign in as %s: malformed access token", email)
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, fmt.Errorf("sign in as %s: access token payload: %w", email, err)
	}
	var claims struct {
		SessionID string `json:"sid"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil || claims.SessionID == "" {
		return nil, fmt.Errorf("sign in as %s: no sid claim in the access token", email)
	}
	return &Session{Token: out.AccessToken, Identity: Identity{UserID: out.User.ID, Role: out.User.Role, SessionID: claims.SessionID}}, nil
}

// Get is an authenticated GET that must answer 200; the body is read in
// full and thrown away.
func (a *API) Get(s *Session, path string) Op {
	return func(ctx context.Context) error {
		return a.do(ctx, http.MethodGet, path, s.Token, nil, http.StatusOK, nil)
	}
}

// Post is an authenticated POST of body that must answer want.
func (a *API) Post(s *Session, path string, body []byte, want int) Op {
	return func(ctx context.Context) error {
		return a.do(ctx, http.MethodPost, path, s.Token, body, want, nil)
	}
}

func (a *API) do(ctx context.Context, method, path, token string, body []byte, want int, out any) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.Base+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := a.Client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != want {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, bytes.TrimSpace(msg))
	}
	if out != nil {
		return json.NewDecoder(resp.Body).Decode(out)
	}
	_, err = io.Copy(io.Discard, resp.Body)
	return err
}
