package medrec

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func date(s string) Date {
	d, err := ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

func fieldNames(err error) []string {
	var names []string
	for _, f := range ErrorFields(err) {
		names = append(names, f.Field)
	}
	slices.Sort(names)
	return names
}

func TestNewPrescriptionValidate(t *testing.T) {
	t.Parallel()
	valid := func() NewPrescription {
		return NewPrescription{DrugName: "Amoxicillin", Dosage: "500 mg", Frequency: "tid", StartDate: date("2026-11-01")}
	}
	route := func(s string) *string { return &s }
	end := func(s string) *Date { d := date(s); return &d }
	for name, c := range map[string]struct {
		edit func(p *NewPrescription)
		want []string
	}{
		"OK":        {func(p *NewPrescription) {}, nil},
		"OKSameDay": {func(p *NewPrescription) { p.EndDate = end("2026-11-01") }, nil},
		"OKAtTheLimits": {func(p *NewPrescription) {
			p.DrugName = strings.Repeat("ü", 255)
			p.Route = route(strings.Repeat("r", 50))
		}, nil},
		"Missing":             {func(p *NewPrescription) { *p = NewPrescription{} }, []string{"dosage", "drug_name", "frequency", "start_date"}},
		"EndBeforeStart":      {func(p *NewPrescription) { p.EndDate = end("2026-10-31") }, []string{"end_date"}},
		"TooLong":             {func(p *NewPrescription) { p.DrugName = strings.Repeat("x", 256); p.Dosage = strings.Repeat("x", 101) }, []string{"dosage", "drug_name"}},
		"BlankRoute":          {func(p *NewPrescription) { p.Route = route(" ") }, []string{"route"}},
		"RouteTooLong":        {func(p *NewPrescription) { p.Route = route(strings.Repeat("r", 51)) }, []string{"route"}},
		"InvalidText":         {func(p *NewPrescription) { p.Frequency = "a\x00b" }, []string{"frequency"}},
		"ImplausibleYear":     {func(p *NewPrescription) { p.StartDate = date("0026-11-01") }, []string{"start_date"}},
		"FrequencyMissingToo": {func(p *NewPrescription) { p.Frequency = ""; p.EndDate = end("2020-01-01") }, []string{"end_date", "frequency"}},
	} {
		p := valid()
		c.edit(&p)
		err := p.Validate()
		if got := fieldNames(err); !slices.Equal(got, c.want) || (c.want == nil) != (err == nil) {
			t.Errorf("%s: %v, want fields %v", name, err, c.want)
		}
	}
}

func TestPrescriptionUpdateValidate(t *testing.T) {
	t.Parallel()
	s := func(v string) *string { return &v }
	d := date("2026-11-01")
	old := Date{time.Date(1850, 1, 1, 0, 0, 0, 0, time.UTC)}
	for name, c := range map[string]struct {
		u    PrescriptionUpdate
		want []string
	}{
		"Status":         {PrescriptionUpdate{Status: s("CANCELLED")}, nil},
		"EndDate":        {PrescriptionUpdate{SetEndDate: true, EndDate: &d}, nil},
		"ClearEndDate":   {PrescriptionUpdate{SetEndDate: true}, nil},
		"Nothing":        {PrescriptionUpdate{}, []string{"status"}},
		"UnknownStatus":  {PrescriptionUpdate{Status: s("PAUSED")}, []string{"status"}},
		"LowerCase":      {PrescriptionUpdate{Status: s("cancelled")}, []string{"status"}},
		"ImplausibleEnd": {PrescriptionUpdate{SetEndDate: true, EndDate: &old}, []string{"end_date"}},
	} {
		err := c.u.Validate()
		if got := fieldNames(err); !slices.Equal(got, c.want) || (c.want == nil) != (err == nil) {
			t.Errorf("%s: %v, want fields %v", name, err, c.want)
		}
	}
}

func TestExpiringFilterValidate(t *testing.T) {
	t.Parallel()
	for days, ok := range map[int]bool{0: false, 1: true, 7: true, 365: true, 366: false, -3: false} {
		f := ExpiringFilter{Days: days}
		if err := f.Validate(); (err == nil) != ok {
			t.Errorf("days %d: %v", days, err)
		}
	}
	f := ExpiringFilter{Days: 7, Page: Page{Limit: 500}}
	if got := fieldNames(f.Validate()); !slices.Equal(got, []string{"limit"}) {
		t.Errorf("limit 500: %v", got)
	}
}
