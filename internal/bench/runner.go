// Package bench is the engine of `medrec bench`: it runs each scenario
// through the real HTTP API and, in the same run and through the same
// connection pool, as raw SQL doing the same database work, and reports
// throughput and latency percentiles side by side so that every API figure
// reads as a ratio to its baseline. It knows nothing of how the server is
// built: cmd/medrec starts the server and hands over its address and pool.
package bench

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"
)

// Op is one unit of work: one HTTP request, or one raw-SQL equivalent.
type Op func(ctx context.Context) error

// Variant is one way of doing a scenario's work.
type Variant struct {
	Label string // e.g. "API (HTTP)"
	// Kind says how the variant is compared: KindAPI against the
	// scenario's KindRaw; KindSpec is what the API must beat by far.
	Kind Kind
	Op   Op
}

// Kind classifies a variant for the ratios and the checks.
type Kind int

// The kinds of variant.
const (
	KindAPI  Kind = iota // through HTTP, the service's own code path
	KindRaw              // hand-written SQL doing the same database work, same pool
	KindSpec             // the spec's original query, same pool, same identity
)

// Scenario is one benchmarked operation and its variants.
type Scenario struct {
	Name     string
	Variants []Variant
	// SpecCheck applies the MinSpecSpeedup criterion to the scenario's
	// KindSpec variant (the issue states it for the heavy patient only).
	SpecCheck bool
}

// Measure is what one variant measured.
type Measure struct {
	Label    string
	Kind     Kind
	Ops      int           // completed without error
	Errors   int           // failed
	FirstErr error         // the first failure, for the report
	Elapsed  time.Duration // wall time the workers ran
	lat      []time.Duration
}

// OpsPerSec is the throughput.
func (m *Measure) OpsPerSec() float64 {
	if m.Elapsed <= 0 {
		return 0
	}
	return float64(m.Ops) / m.Elapsed.Seconds()
}

// Percentile returns the p-th percentile (0 < p <= 100) of the latencies
// of successful operations, nearest-rank.
func (m *Measure) Percentile(p float64) time.Duration {
	if len(m.lat) == 0 {
		return 0
	}
	i := int(float64(len(m.lat))*p/100+0.5) - 1
	return m.lat[min(max(i, 0), len(m.lat)-1)]
}

// Options shape a run.
type Options struct {
	Duration    time.Duration // measured time per variant, split over Rounds
	Concurrency int           // concurrent clients per variant
	Rounds      int           // the variants of a scenario alternate this many times
	Warmup      time.Duration // unmeasured time per variant before the first round
	// Progress, when set, is told what is about to run.
	Progress func(scenario, variant string, round int)
}

// Result is one scenario's measures, in the order of its variants.
type Result struct {
	Scenario  string
	SpecCheck bool
	Measures  []*Measure
}

// Run runs every scenario in turn. Within a scenario the variants alternate
// (API, raw, spec, API, raw, spec, ...) for Rounds rounds, so that noise
// from other work on the machine lands on all of them alike.
func Run(ctx context.Context, scenarios []Scenario, o Options) ([]Result, error) {
	if o.Concurrency < 1 || o.Duration <= 0 || o.Rounds < 1 {
		return nil, fmt.Errorf("bench: concurrency, duration and rounds must be positive")
	}
	var out []Result
	for _, sc := range scenarios {
		res := Result{Scenario: sc.Name, SpecCheck: sc.SpecCheck}
		for _, v := range sc.Variants {
			res.Measures = append(res.Measures, &Measure{Label: v.Label, Kind: v.Kind})
			if o.Warmup > 0 {
				if o.Progress != nil {
					o.Progress(sc.Name, v.Label, 0)
				}
				run(ctx, v.Op, o.Warmup, o.Concurrency, &Measure{})
			}
		}
		slice := o.Duration / time.Duration(o.Rounds)
		for r := 1; r <= o.Rounds; r++ {
			for i, v := range sc.Variants {
				if err := ctx.Err(); err != nil {
					return out, err
				}
				if o.Progress != nil {
					o.Progress(sc.Name, v.Label, r)
				}
				run(ctx, v.Op, slice, o.Concurrency, res.Measures[i])
			}
		}
		for _, m := range res.Measures {
			slices.Sort(m.lat)
		}
		out = append(out, res)
	}
	return out, nil
}

// run drives op from concurrency goroutines for d and adds what they did
// to m. An operation still running at the deadline is waited for and
// counted, and so is the time it took.
func run(ctx context.Context, op Op, d time.Duration, concurrency int, m *Measure) {
	var (
		mu sync.Mutex
		wg sync.WaitGroup
	)
	start := time.Now()
	deadline := start.Add(d)
	for range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lat := make([]time.Duration, 0, 1024)
			var errs int
			var firstErr error
			for ctx.Err() == nil {
				t := time.Now()
				if !t.Before(deadline) {
					break
				}
				if err := op(ctx); err != nil {
					if errs++; firstErr == nil {
						firstErr = err
					}
					continue
				}
				lat = append(lat, time.Since(t))
			}
			mu.Lock()
			m.lat = append(m.lat, lat...)
			m.Ops += len(lat)
			m.Errors += errs
			if m.FirstErr == nil {
				m.FirstErr = firstErr
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	m.Elapsed += time.Since(start)
}
