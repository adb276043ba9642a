package medrec_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"medrec"
)

func pFieldNames(err error) []string {
	var names []string
	for _, f := range medrec.ErrorFields(err) {
		names = append(names, f.Field)
	}
	slices.Sort(names)
	return names
}

func pDate(t *testing.T, s string) medrec.Date {
	t.Helper()
	d, err := medrec.ParseDate(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func strPtr[T any](v T) *T { return &v }

func TestNewPatientValidate(t *testing.T) {
	valid := func() medrec.NewPatient {
		return medrec.NewPatient{FirstName: "Ada", LastName: "Lovelace", DOB: medrec.Date{Time: time.Date(1985, 12, 10, 0, 0, 0, 0, time.UTC)}, Gender: "FEMALE"}
	}
	if p := valid(); p.Validate() != nil {
		t.Fatalf("valid patient refused: %v", p.Validate())
	}
	today := time.Now().UTC()
	cases := map[string]struct {
		edit  func(p *medrec.NewPatient)
		field string
	}{
		"first name missing":  {func(p *medrec.NewPatient) { p.FirstName = "" }, "first_name"},
		"first name blank":    {func(p *medrec.NewPatient) { p.FirstName = " \t" }, "first_name"},
		"last name too long":  {func(p *medrec.NewPatient) { p.LastName = strings.Repeat("ü", 101) }, "last_name"},
		"control character":   {func(p *medrec.NewPatient) { p.LastName = "a\x00b" }, "last_name"},
		"dob missing":         {func(p *medrec.NewPatient) { p.DOB = medrec.Date{} }, "dob"},
		"dob before 1900":     {func(p *medrec.NewPatient) { p.DOB = pDate(t, "1899-12-31") }, "dob"},
		"dob in the future":   {func(p *medrec.NewPatient) { p.DOB = medrec.Date{Time: today.AddDate(0, 0, 2)} }, "dob"},
		"gender missing":      {func(p *medrec.NewPatient) { p.Gender = "" }, "gender"},
		"gender unknown":      {func(p *medrec.NewPatient) { p.Gender = "male" }, "gender"},
		"email empty":         {func(p *medrec.NewPatient) { p.Email = strPtr("") }, "email"},
		"email invalid":       {func(p *medrec.NewPatient) { p.Email = strPtr("Ada <ada@example.org>") }, "email"},
		"email too long":      {func(p *medrec.NewPatient) { p.Email = strPtr(strings.Repeat("a", 250) + "@x.org") }, "email"},
		"phone too long":      {func(p *medrec.NewPatient) { p.Phone = strPtr(strings.Repeat("1", 21)) }, "phone"},
		"phone letters":       {func(p *medrec.NewPatient) { p.Phone = strPtr("555-CALL") }, "phone"},
		"phone without digit": {func(p *medrec.NewPatient) { p.Phone = strPtr("()") }, "phone"},
		"status unknown":      {func(p *medrec.NewPatient) { p.Status = "DELETED" }, "status"},
	}
	for name, c := range cases {
		p := valid()
		c.edit(&p)
		err := p.Validate()
		if medrec.ErrorCode(err) != medrec.EINVALID || !slices.Equal(pFieldNames(err), []string{c.field}) {
			t.Errorf("%s: %v, want EINVALID on %s", name, err, c.field)
		}
	}
	// Today, the earliest date and the longest values are fine.
	p := valid()
	p.DOB = medrec.Date{Time: time.Date(today.Year(), today.Month(), today.Day(), 0, 0, 0, 0, time.UTC)}
	p.FirstName = strings.Repeat("é", 100)
	p.Phone = strPtr("+44 (20) 7946-001899")
	p.Email = strPtr("a@example.org")
	p.Status = "DECEASED"
	if err := p.Validate(); err != nil {
		t.Errorf("edge values refused: %v", err)
	}
	p.DOB = pDate(t, "1900-01-01")
	if err := p.Validate(); err != nil {
		t.Errorf("1900-01-01 refused: %v", err)
	}
	// Every problem at once.
	all := medrec.NewPatient{Email: strPtr("x"), Phone: strPtr("x"), Status: "X"}
	want := []string{"dob", "email", "first_name", "gender", "last_name", "phone", "status"}
	if got := pFieldNames(all.Validate()); !slices.Equal(got, want) {
		t.Errorf("all errors: %v, want %v", got, want)
	}
}

func TestPatientUpdateValidate(t *testing.T) {
	var empty medrec.PatientUpdate
	if medrec.ErrorCode(empty.Validate()) != medrec.EINVALID {
		t.Error("an empty update was accepted")
	}
	clear := medrec.PatientUpdate{Email: medrec.NullableString{Set: true}}
	if err := clear.Validate(); err != nil {
		t.Errorf("clearing the email refused: %v", err)
	}
	bad := medrec.PatientUpdate{FirstName: strPtr(""), Gender: strPtr("F"), Status: strPtr("GONE"), Phone: medrec.NullableString{Set: true, Value: strPtr("abc")}}
	if got := pFieldNames(bad.Validate()); !slices.Equal(got, []string{"first_name", "gender", "phone", "status"}) {
		t.Errorf("update errors: %v", got)
	}
}

func TestNullableStringJSON(t *testing.T) {
	var v struct {
		A medrec.NullableString `json:"a"`
		B medrec.NullableString `json:"b"`
		C medrec.NullableString `json:"c"`
	}
	if err := json.Unmarshal([]byte(`{"a": null, "b": "x"}`), &v); err != nil {
		t.Fatal(err)
	}
	if !v.A.Set || v.A.Value != nil || !v.B.Set || *v.B.Value != "x" || v.C.Set {
		t.Errorf("decoded %+v", v)
	}
	if err := json.Unmarshal([]byte(`{"a": 5}`), &v); err == nil {
		t.Error("a number was accepted as a string")
	}
}

func TestPatientFilterValidate(t *testing.T) {
	f := medrec.PatientFilter{Status: "GONE", Q: strings.Repeat("q", 202), Page: medrec.Page{Limit: 500}}
	if got := pFieldNames(f.Validate()); !slices.Equal(got, []string{"limit", "q", "status"}) {
		t.Errorf("filter errors: %v", got)
	}
	ok := medrec.PatientFilter{Status: "ACTIVE"}
	if err := ok.Validate(); err != nil || ok.Limit != medrec.DefaultPageSize {
		t.Errorf("valid filter: %v, limit %d", err, ok.Limit)
	}
}
