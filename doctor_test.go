package medrec_test

import (
	"slices"
	"strings"
	"testing"

	"medrec"
)

func TestNewDoctorValidate(t *testing.T) {
	valid := medrec.NewDoctor{FirstName: "Gregory", LastName: "House", Email: "house@example.org", Specialty: strPtr("Nephrology")}
	if err := valid.Validate(); err != nil {
		t.Fatalf("valid doctor refused: %v", err)
	}
	bad := medrec.NewDoctor{Email: "nope", Phone: strPtr("abc"), Specialty: strPtr(strings.Repeat("s", 101)), Status: "FIRED", UserID: strPtr("")}
	want := []string{"email", "first_name", "last_name", "phone", "specialty", "status", "user_id"}
	if got := pFieldNames(bad.Validate()); !slices.Equal(got, want) {
		t.Errorf("all errors: %v, want %v", got, want)
	}
	noEmail := valid
	noEmail.Email = ""
	if got := pFieldNames(noEmail.Validate()); !slices.Equal(got, []string{"email"}) {
		t.Errorf("email required: %v", got)
	}
}

func TestDoctorUpdate(t *testing.T) {
	contact := medrec.DoctorUpdate{Email: strPtr("a@example.org"), Phone: medrec.NullableString{Set: true}}
	if !contact.ContactOnly() || contact.Validate() != nil {
		t.Errorf("contact update: only %v, err %v", contact.ContactOnly(), contact.Validate())
	}
	for name, u := range map[string]medrec.DoctorUpdate{
		"specialty": {Specialty: medrec.NullableString{Set: true}},
		"status":    {Status: strPtr("RETIRED")},
		"user":      {UserID: medrec.NullableString{Set: true}},
		"name":      {FirstName: strPtr("X")},
	} {
		if u.ContactOnly() {
			t.Errorf("%s counted as a contact field", name)
		}
	}
	var empty medrec.DoctorUpdate
	if medrec.ErrorCode(empty.Validate()) != medrec.EINVALID {
		t.Error("an empty update was accepted")
	}
	if got := pFieldNames((&medrec.DoctorUpdate{Status: strPtr("X")}).Validate()); !slices.Equal(got, []string{"status"}) {
		t.Errorf("status: %v", got)
	}
}

func TestDoctorFilterValidate(t *testing.T) {
	f := medrec.DoctorFilter{Status: "X", Specialty: strings.Repeat("s", 101)}
	if got := pFieldNames(f.Validate()); !slices.Equal(got, []string{"specialty", "status"}) {
		t.Errorf("filter errors: %v", got)
	}
}
