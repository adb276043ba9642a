package httpapi

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// httpMetrics counts and times requests by route pattern, method and
// status. Every label has a bounded set of values: routes come from the
// table (or "unmatched"), methods from a fixed list.
type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// newHTTPMetrics registers the HTTP metrics on reg, reusing those already
// there so that two Servers may share one registry.
func newHTTPMetrics(reg prometheus.Registerer) (*httpMetrics, error) {
	labels := []string{"route", "method", "status"}
	requests, err := registerOnce(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "medrec_http_requests_total",
		Help: "HTTP requests served, by route pattern, method and status.",
	}, labels))
	if err != nil {
		return nil, err
	}
	duration, err := registerOnce(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "medrec_http_request_duration_seconds",
		Help:    "Time to serve HTTP requests, by route pattern, method and status.",
		Buckets: prometheus.DefBuckets,
	}, labels))
	if err != nil {
		return nil, err
	}
	return &httpMetrics{requests: requests, duration: duration}, nil
}

func registerOnce[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	err := reg.Register(c)
	if err == nil {
		return c, nil
	}
	var already prometheus.AlreadyRegisteredError
	if errors.As(err, &already) {
		if existing, ok := already.ExistingCollector.(C); ok {
			return existing, nil
		}
	}
	return c, fmt.Errorf("register HTTP metrics: %w", err)
}

// middleware observes every request once it is done, a panicking one
// included (as a 500).
func (m *httpMetrics) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := newRecorder(w)
		defer func() {
			p := recover()
			status := rec.statusCode()
			if p != nil {
				// Aborted, even after a 200 went out: the client got
				// a broken response, so it counts as the server's error.
				status = http.StatusInternalServerError
			}
			route := routeUnmatched
			if st := stateFrom(r.Context()); st != nil {
				route = st.route
			}
			labels := prometheus.Labels{
				"route":  route,
				"method": methodLabel(r.Method),
				"status": strconv.Itoa(status),
			}
			m.requests.With(labels).Inc()
			m.duration.With(labels).Observe(time.Since(start).Seconds())
			if p != nil {
				panic(p)
			}
		}()
		next.ServeHTTP(rec, r)
	})
}

// methodLabel maps the method to itself if standard, else to "OTHER": a
// client may send any token as a method.
func methodLabel(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return method
	}
	return "OTHER"
}
