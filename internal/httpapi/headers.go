package httpapi

import "net/http"

// securityHeaders sets on every response the headers a JSON API holding
// health information needs: no caching anywhere on the way (a shared or
// browser cache would keep PHI), no content sniffing, no framing, no
// referrer, and a CSP that lets a response load nothing, should a browser
// ever render one.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cache-Control", "no-store")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
		next.ServeHTTP(w, r)
	})
}
