package medrec_test

import (
	"strings"
	"testing"
	"time"

	"medrec"
)

func TestReportStatusMovesOnlyForward(t *testing.T) {
	t.Parallel()
	order := []string{"PROCESSING", "COMPLETED", "REVIEWED", "ARCHIVED"}
	for i, from := range order {
		for j, to := range order {
			if got, want := medrec.ReportStatusMoveAllowed(from, to), j > i; got != want {
				t.Errorf("%s → %s: %v, want %v", from, to, got, want)
			}
		}
		if medrec.ReportStatusMoveAllowed(from, "DONE") || medrec.ReportStatusMoveAllowed("DONE", from) {
			t.Errorf("an unknown status moved from or to %s", from)
		}
	}
}

func TestNewReportValidate(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 10, 23, 0, 0, 0, time.UTC)
	long := strings.Repeat("x", 256)
	for name, c := range map[string]struct {
		n    medrec.NewReport
		want []string
	}{
		"OK":              {medrec.NewReport{Title: "CT", ReportType: "IMAGING", ReportDate: "2026-03-10"}, nil},
		"TodayInKiribati": {medrec.NewReport{Title: "CT", ReportType: "IMAGING", ReportDate: "2026-03-11"}, nil},
		"Missing":         {medrec.NewReport{}, []string{"title", "report_type", "report_date"}},
		"Blank title":     {medrec.NewReport{Title: "  ", ReportType: "LAB", ReportDate: "2026-03-10"}, []string{"title"}},
		"Long title":      {medrec.NewReport{Title: long, ReportType: "LAB", ReportDate: "2026-03-10"}, []string{"title"}},
		"Bad type":        {medrec.NewReport{Title: "t", ReportType: "lab", ReportDate: "2026-03-10"}, []string{"report_type"}},
		"Future":          {medrec.NewReport{Title: "t", ReportType: "LAB", ReportDate: "2026-03-12"}, []string{"report_date"}},
		"Not a date":      {medrec.NewReport{Title: "t", ReportType: "LAB", ReportDate: "2026-02-30"}, []string{"report_date"}},
	} {
		t.Run(name, func(t *testing.T) {
			err := c.n.Validate(now)
			var got []string
			for _, f := range medrec.ErrorFields(err) {
				got = append(got, f.Field)
			}
			if strings.Join(got, ",") != strings.Join(c.want, ",") {
				t.Fatalf("fields %v, want %v (%v)", got, c.want, err)
			}
		})
	}
}
