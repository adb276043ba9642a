package bench

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// The acceptance criteria the report checks (issue 4).
const (
	// MinAPIShare: every API figure at least this share of its raw-SQL
	// baseline's throughput.
	MinAPIShare = 0.5
	// MinSpecSpeedup: the heavy patient's history at least this many times
	// faster than the spec's query.
	MinSpecSpeedup = 50
	// MaxTail: p99 under this many times p50.
	MaxTail = 10
)

// WriteTable writes the results as a Markdown table: one row per variant,
// with the API row's throughput as a share of its raw baseline, and the
// spec row's as the API's speed-up over it.
func WriteTable(w io.Writer, results []Result) {
	fmt.Fprintln(w, "| scenario | variant | ops/s | p50 ms | p99 ms | p99/p50 | ratio |")
	fmt.Fprintln(w, "|---|---|---:|---:|---:|---:|---|")
	for _, r := range results {
		api, raw := find(r, KindAPI), find(r, KindRaw)
		for _, m := range r.Measures {
			ratio := ""
			switch {
			case m.Kind == KindAPI && raw != nil && raw.OpsPerSec() > 0:
				ratio = fmt.Sprintf("API = %.2f × raw", m.OpsPerSec()/raw.OpsPerSec())
			case m.Kind == KindSpec && api != nil && m.OpsPerSec() > 0:
				ratio = fmt.Sprintf("API %.0f× the throughput, %.0f× faster at p50",
					api.OpsPerSec()/m.OpsPerSec(), ms(m.Percentile(50))/ms(api.Percentile(50)))
			}
			if m.Errors > 0 {
				ratio = strings.TrimSpace(ratio + fmt.Sprintf(" (%d errors)", m.Errors))
			}
			fmt.Fprintf(w, "| %s | %s | %s | %.2f | %.2f | %.1f | %s |\n",
				r.Scenario, m.Label, rate(m.OpsPerSec()), ms(m.Percentile(50)), ms(m.Percentile(99)), tail(m), ratio)
		}
	}
}

// Check is one acceptance criterion applied to one figure.
type Check struct {
	What string
	OK   bool
}

// Checks applies the acceptance criteria to the results: the API at least
// MinAPIShare of its raw baseline, p99 under MaxTail × p50 for every API
// figure, and the API at least MinSpecSpeedup times faster than the spec's
// query in the scenarios marked SpecCheck (the heavy patient's history).
func Checks(results []Result) []Check {
	var out []Check
	for _, r := range results {
		api, raw, spec := find(r, KindAPI), find(r, KindRaw), find(r, KindSpec)
		if api == nil {
			continue
		}
		if raw != nil && raw.OpsPerSec() > 0 {
			share := api.OpsPerSec() / raw.OpsPerSec()
			out = append(out, Check{fmt.Sprintf("%s: API throughput %.2f × raw SQL (want ≥ %.1f)", r.Scenario, share, MinAPIShare), share >= MinAPIShare})
		}
		out = append(out, Check{fmt.Sprintf("%s: API p99 = %.1f × p50 (want < %d)", r.Scenario, tail(api), MaxTail), api.Ops > 0 && tail(api) < MaxTail})
		if r.SpecCheck && spec != nil && spec.OpsPerSec() > 0 && api.Percentile(50) > 0 {
			thr := api.OpsPerSec() / spec.OpsPerSec()
			lat := ms(spec.Percentile(50)) / ms(api.Percentile(50))
			out = append(out, Check{fmt.Sprintf("%s: API vs the spec's query: %.0f× the throughput, %.0f× faster at p50 (want ≥ %d)", r.Scenario, thr, lat, MinSpecSpeedup),
				thr >= MinSpecSpeedup && lat >= MinSpecSpeedup})
		}
		for _, m := range r.Measures {
			if m.Errors > 0 || m.Ops == 0 {
				out = append(out, Check{fmt.Sprintf("%s / %s: %d ops, %d errors (first: %v)", r.Scenario, m.Label, m.Ops, m.Errors, m.FirstErr), false})
			}
		}
	}
	return out
}

// WriteChecks writes the checks as a Markdown list.
func WriteChecks(w io.Writer, checks []Check) {
	for _, c := range checks {
		mark := "PASS"
		if !c.OK {
			mark = "FAIL"
		}
		fmt.Fprintf(w, "- %s %s\n", mark, c.What)
	}
}

func find(r Result, k Kind) *Measure {
	for _, m := range r.Measures {
		if m.Kind == k {
			return m
		}
	}
	return nil
}

// rate formats a throughput with three significant digits or more, so that
// a slow variant (the spec's query: a few per second) does not read as 0.
func rate(opsPerSec float64) string {
	switch {
	case opsPerSec >= 100:
		return fmt.Sprintf("%.0f", opsPerSec)
	case opsPerSec >= 10:
		return fmt.Sprintf("%.1f", opsPerSec)
	}
	return fmt.Sprintf("%.2f", opsPerSec)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func tail(m *Measure) float64 {
	if p50 := m.Percentile(50); p50 > 0 {
		return float64(m.Percentile(99)) / float64(p50)
	}
	return 0
}
