package demo

import (
	"regexp"
	"testing"
	"time"
)

func testGenerator() *generator {
	g := &generator{seed: 1, today: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), now: time.Now(), patients: 1 << 30, heavy: 1, reports: 5, rx: 5, nurses: 2}
	r := newRNG()
	for j := 0; j < 200; j++ {
		ids, _ := g.doctorAt(r, j)
		g.doctorIDs = append(g.doctorIDs, ids[0])
		g.doctorUserIDs = append(g.doctorUserIDs, ids[1])
		g.doctorActive = append(g.doctorActive, j)
	}
	return g
}

func TestUUIDsAreVersion4(t *testing.T) {
	v4 := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	r := newRNG()
	seen := map[[16]byte]bool{}
	for i := 0; i < 10000; i++ {
		u := uuid4(r)
		if s := uuidString(u); !v4.MatchString(s) {
			t.Fatalf("%s is not a version 4 UUID", s)
		}
		if seen[u] {
			t.Fatalf("duplicate after %d", i)
		}
		seen[u] = true
	}
}

func TestEmailPart(t *testing.T) {
	for in, want := range map[string]string{"O'Brien": "obrien", "De Vries": "devries", "Min-ji": "minji", "Ada": "ada"} {
		if got := emailPart(in); got != want {
			t.Errorf("emailPart(%q) = %q, want %q", in, got, want)
		}
	}
}

// BenchmarkGenerateReports measures the Go side alone: how fast report rows
// are made, far above what the server can take in.
func BenchmarkGenerateReports(b *testing.B) {
	next := testGenerator().reportRows()
	v := make([]any, len(reportColumns))
	b.ReportAllocs()
	for b.Loop() {
		next(v)
	}
}
