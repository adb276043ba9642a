package httpapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"hash"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"medrec"
)

// idempotencyHeader names the header that makes a POST happen at most once.
const idempotencyHeader = "Idempotency-Key"

// idempotencyWait bounds how long a duplicate waits for the first
// request's answer to be recorded (normally a few milliseconds after its
// commit) before answering 409.
const idempotencyWait = 5 * time.Second

// idempotencyExempt lists the authenticated POST routes that ignore
// Idempotency-Key: they create nothing a replay could serve again, and
// running them twice is harmless or must not be replayed (a TOTP secret is
// answered once and never stored). Every other authenticated POST route,
// present or future, is idempotent through the middleware below.
var idempotencyExempt = map[string]bool{
	"/api/v1/auth/logout":         true, // ending a session twice ends it once
	"/api/v1/patients/lookup":     true, // a read; its answer is not kept
	"/api/v1/me/mfa/totp":         true, // the answer is a secret shown once
	"/api/v1/me/mfa/totp/confirm": true, // a one-time code cannot be replayed
}

// idempotentRoute reports whether rt gets the Idempotency-Key middleware:
// authenticated POSTs, except idempotencyExempt.
func idempotentRoute(rt Route) bool {
	return rt.Method == http.MethodPost && rt.Permission != PermissionPublic && !idempotencyExempt[rt.Pattern]
}

// idempotent makes a POST carrying an Idempotency-Key happen at most once
// per user and key (24 hours). It runs inside authorize, so the caller is
// known.
//
//   - A key already recorded is answered from the record without running
//     the handler: 422 if the request differs (method, path and body are
//     compared by SHA-256), otherwise a replay of the first answer.
//   - Otherwise the handler runs with a claim in its context. The claim is
//     inserted by the service's transaction (postgres.inTx) as its first
//     statement and commits with the work, or rolls back with it: a
//     request that fails (400, 404, ...) performs nothing and leaves the
//     key free. Concurrent duplicates block in the database until the
//     first commits, find the key taken, and their own answer is replaced
//     by the replay of the first's.
//   - The first request's status and the URL of the resource it answered
//     with are stored before its answer leaves, so a client that got an
//     answer never meets an unknown outcome. That URL is the Location of a
//     create, or the Content-Location of an action that answers 200 with
//     the updated object (approve, deny, revoke): a handler whose success
//     has a body must set one of them, or its replay has none. A key whose work committed but whose answer was never
//     stored (a crash in between) answers 409: the work is not repeated.
//
// Nothing of the request or the response body is stored: a replay reads
// that URL again as the caller, so row-level security and the READ audit
// apply to it like to any GET.
func (s *Server) idempotent(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		values := r.Header.Values(idempotencyHeader)
		if len(values) == 0 {
			next.ServeHTTP(w, r)
			return
		}
		key, err := idempotencyKey(values)
		if err != nil {
			writeError(w, r, err)
			return
		}
		if s.idem == nil || medrec.CallerFromContext(r.Context()) == nil {
			// New refuses a server without the service; authorize
			// always sets the caller. Never run the POST unprotected.
			writeError(w, r, errors.New("idempotency: no service or no caller"))
			return
		}
		fp := newFingerprint(r)
		r = r.WithContext(r.Context()) // a shallow copy: the caller's request keeps its Body
		r.Body = fp

		prev, err := s.idem.FindIdempotencyKey(r.Context(), key)
		switch {
		case err == nil:
			s.replay(w, r, key, fp, prev)
			return
		case medrec.ErrorCode(err) != medrec.ENOTFOUND:
			writeError(w, r, err)
			return
		}

		claim := medrec.NewIdempotencyClaim(key, fp.Sum)
		cw := &claimWriter{ResponseWriter: w, s: s, r: r, claim: claim}
		next.ServeHTTP(cw, r.WithContext(medrec.NewContextWithIdempotencyClaim(r.Context(), claim)))

		switch claim.State() {
		case medrec.ClaimTaken:
			// The handler's answer (a conflict) was held back.
			prev, err := s.idem.FindIdempotencyKey(r.Context(), key)
			if err != nil {
				if medrec.ErrorCode(err) == medrec.ENOTFOUND {
					err = errKeyInProgress
				}
				writeError(w, r, err)
				return
			}
			s.replay(w, r, key, fp, prev)
		case medrec.ClaimCommitted:
			if !cw.decided {
				cw.decide(http.StatusOK) // the handler wrote nothing: net/http sends 200
			}
			if cw.wroteBody && cw.status != http.StatusNoContent && answeredResource(cw.Header()) == "" {
				loggerFrom(r.Context()).ErrorContext(r.Context(),
					"idempotent POST answered a body without Location or Content-Location: its replays will have none")
			}
		case medrec.ClaimUncertain:
			loggerFrom(r.Context()).WarnContext(r.Context(), "idempotency key committed or not, unknown: it answers 409 until it expires")
		case medrec.ClaimPending:
			if cw.status >= 200 && cw.status < 300 {
				// A route that succeeded without a transaction carrying
				// the claim is not protected: a bug to fix in its service.
				loggerFrom(r.Context()).ErrorContext(r.Context(), "POST succeeded without taking its idempotency claim")
			}
		}
	})
}

var errKeyInProgress = medrec.Errorf(medrec.ECONFLICT,
	"a request with this Idempotency-Key is still running, or its outcome was lost; it is not run again")

// idempotencyKey checks the header: given once, 1 to 255 printable ASCII
// characters.
func idempotencyKey(values []string) (string, error) {
	bad := func(msg string) error {
		return medrec.Invalid(medrec.FieldError{Field: idempotencyHeader, Message: msg})
	}
	if len(values) != 1 {
		return "", bad("must be given once")
	}
	v := values[0]
	switch {
	case v == "":
		return "", bad("must not be empty")
	case len(v) > medrec.MaxIdempotencyKeyLen:
		return "", bad("must be at most 255 characters")
	}
	for i := 0; i < len(v); i++ {
		if v[i] < 0x20 || v[i] > 0x7e {
			return "", bad("must be printable ASCII")
		}
	}
	return v, nil
}

// replay answers a request whose key is already taken by prev.
func (s *Server) replay(w http.ResponseWriter, r *http.Request, key string, fp *fingerprint, prev *medrec.IdempotentOutcome) {
	sum, err := fp.Sum()
	if err != nil {
		writeError(w, r, err)
		return
	}
	if !bytes.Equal(sum, prev.Fingerprint) {
		writeError(w, r, medrec.Errorf(medrec.EUNPROCESSABLE,
			"this Idempotency-Key was used for a different request (method, path or body); use a new key"))
		return
	}
	if prev.Status == 0 {
		if prev, err = s.awaitOutcome(r.Context(), key); err != nil {
			writeError(w, r, err)
			return
		}
	}
	h := w.Header()
	for _, name := range []string{"Content-Type", "ETag", "Location", "Content-Location"} {
		h.Del(name) // whatever a held-back answer set
	}
	h.Set("Idempotent-Replayed", "true")
	if prev.Status >= 400 {
		writeProblem(w, r, problem{
			Type: problemTypePrefix + "idempotent_replay", Title: http.StatusText(prev.Status), Status: prev.Status,
			Detail: "the request with this Idempotency-Key failed after it was performed; it is not run again",
		})
		return
	}
	if prev.Location != "" {
		// The stored URL goes back in the header it came from: Location
		// for a 201 Created, Content-Location for any other answer.
		if prev.Status == http.StatusCreated {
			h.Set("Location", prev.Location)
		} else {
			h.Set("Content-Location", prev.Location)
		}
	}
	if prev.Location == "" || prev.Status == http.StatusNoContent {
		w.WriteHeader(prev.Status)
		return
	}
	// The body is the resource as it is now, read as the caller. If it
	// cannot be read (erased since, no longer in the caller's care, or a
	// URL without a GET route) the replay has no body.
	get := s.readAsCaller(r, prev.Location)
	if get == nil || get.status != http.StatusOK {
		w.WriteHeader(prev.Status)
		return
	}
	for _, name := range []string{"Content-Type", "ETag"} {
		if v := get.header.Get(name); v != "" {
			h.Set(name, v)
		}
	}
	w.WriteHeader(prev.Status)
	_, _ = w.Write(get.body.Bytes())
}

// awaitOutcome waits for the first request's answer to be recorded: a
// duplicate may wake up between the first's commit and that record.
func (s *Server) awaitOutcome(ctx context.Context, key string) (*medrec.IdempotentOutcome, error) {
	deadline := time.Now().Add(idempotencyWait)
	pause := 10 * time.Millisecond
	for {
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, &medrec.Error{Code: medrec.EUNAVAILABLE, Message: "the request was cancelled", Err: ctx.Err()}
		case <-t.C:
		}
		prev, err := s.idem.FindIdempotencyKey(ctx, key)
		switch {
		case medrec.ErrorCode(err) == medrec.ENOTFOUND:
			return nil, errKeyInProgress
		case err != nil:
			return nil, err
		case prev.Status != 0:
			return prev, nil
		case time.Now().After(deadline):
			return nil, errKeyInProgress
		}
		pause = min(2*pause, 250*time.Millisecond)
	}
}

// readAsCaller serves GET location through the route table as r's caller
// (same token, same request id) and returns what it answered, or nil for a
// location outside the API.
func (s *Server) readAsCaller(r *http.Request, location string) *bufferedResponse {
	u, err := url.Parse(location)
	if err != nil || u.IsAbs() || u.Host != "" || !strings.HasPrefix(u.Path, "/api/v1/") {
		return nil
	}
	get := r.Clone(medrec.WithoutIdempotencyClaim(r.Context()))
	get.Method = http.MethodGet
	get.URL = u
	get.RequestURI = u.RequestURI()
	get.Body, get.ContentLength = http.NoBody, 0
	for _, name := range []string{"Content-Type", "Content-Length", idempotencyHeader, "If-Match", "If-None-Match"} {
		get.Header.Del(name)
	}
	// The inner route relabels the request; the access log and metrics
	// must keep naming the POST.
	if st := stateFrom(r.Context()); st != nil {
		route, maxBody := st.route, st.maxBody
		defer func() { st.route, st.maxBody = route, maxBody }()
	}
	out := &bufferedResponse{header: http.Header{}}
	s.mux.ServeHTTP(out, get)
	if out.status == 0 {
		out.status = http.StatusOK
	}
	return out
}

// bufferedResponse keeps a (small, JSON) response in memory.
type bufferedResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferedResponse) Header() http.Header { return b.header }

func (b *bufferedResponse) WriteHeader(status int) {
	if b.status == 0 && status >= 200 {
		b.status = status
	}
}

func (b *bufferedResponse) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.body.Write(p)
}

// claimWriter sits between an idempotent route's handler and the client.
// When the handler answers, the claim's fate is settled (the service's
// transaction has ended): if another request holds the key, the answer is
// held back for the replay; if this request's claim committed, its status
// and answeredResource are stored before the answer goes out.
type claimWriter struct {
	http.ResponseWriter
	s     *Server
	r     *http.Request
	claim *medrec.IdempotencyClaim

	decided, suppress, wroteBody bool
	status                       int
}

// answeredResource is the URL of the resource an answer shows, which a
// replay reads again: the Location of a create, else the Content-Location
// of an action answering the updated object. The store keeps one URL; the
// replay puts it back as Location for 201 and Content-Location otherwise.
func answeredResource(h http.Header) string {
	if v := h.Get("Location"); v != "" {
		return v
	}
	return h.Get("Content-Location")
}

func (cw *claimWriter) decide(status int) {
	if cw.decided {
		return
	}
	cw.decided, cw.status = true, status
	switch cw.claim.State() {
	case medrec.ClaimTaken:
		cw.suppress = true
	case medrec.ClaimCommitted:
		ctx := context.WithoutCancel(cw.r.Context())
		sum, err := cw.claim.Fingerprint()
		if err == nil {
			err = cw.s.idem.RecordIdempotentOutcome(ctx, cw.claim.Key, sum, status, answeredResource(cw.Header()))
		}
		if err != nil {
			// The work stands; retries of the key will answer 409.
			loggerFrom(ctx).ErrorContext(ctx, "record idempotency outcome", slog.String("error", err.Error()))
		}
	}
}

func (cw *claimWriter) WriteHeader(status int) {
	if status < 200 {
		if !cw.suppress {
			cw.ResponseWriter.WriteHeader(status)
		}
		return
	}
	cw.decide(status)
	if !cw.suppress {
		cw.ResponseWriter.WriteHeader(status)
	}
}

func (cw *claimWriter) Write(b []byte) (int, error) {
	if !cw.decided {
		cw.WriteHeader(http.StatusOK)
	}
	if len(b) > 0 {
		cw.wroteBody = true
	}
	if cw.suppress {
		return len(b), nil
	}
	return cw.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (deadlines of
// long uploads).
func (cw *claimWriter) Unwrap() http.ResponseWriter { return cw.ResponseWriter }

// fingerprint hashes the request as the handler reads its body, so that
// even a large upload is fingerprinted without being held in memory.
// Sum reads what the handler left unread and returns SHA-256 of method,
// path with query, and body.
type fingerprint struct {
	body io.ReadCloser
	h    hash.Hash

	once sync.Once
	sum  []byte
	err  error
}

func newFingerprint(r *http.Request) *fingerprint {
	h := sha256.New()
	io.WriteString(h, r.Method+"\n"+r.URL.RequestURI()+"\n")
	return &fingerprint{body: r.Body, h: h}
}

func (f *fingerprint) Read(p []byte) (int, error) {
	n, err := f.body.Read(p)
	f.h.Write(p[:n])
	return n, err
}

func (f *fingerprint) Close() error { return f.body.Close() }

// Sum drains the body (bounded by the route's limit) and returns the
// fingerprint; a body over the limit is the *http.MaxBytesError that
// writeError answers 413.
func (f *fingerprint) Sum() ([]byte, error) {
	f.once.Do(func() {
		if _, err := io.Copy(io.Discard, f); err != nil {
			f.err = err
			return
		}
		f.sum = f.h.Sum(nil)
	})
	return f.sum, f.err
}
