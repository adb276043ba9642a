package medrec_test

import (
	"errors"
	"fmt"
	"testing"

	"medrec"
)

func TestErrorCodeAndMessage(t *testing.T) {
	t.Parallel()
	secret := errors.New("pq: password authentication failed for user medrec")
	for _, tc := range []struct {
		name        string
		err         error
		code, msg   string
		fieldsCount int
	}{
		{"Nil", nil, "", "", 0},
		{"PlainErrorIsInternal", secret, medrec.EINTERNAL, "internal error", 0},
		{"CodedError", medrec.Errorf(medrec.ENOTFOUND, "patient %s not found", "x"), medrec.ENOTFOUND, "patient x not found", 0},
		{"WrappedCodedError", fmt.Errorf("load patient: %w", medrec.Errorf(medrec.ECONFLICT, "taken")), medrec.ECONFLICT, "taken", 0},
		{"InternalNeverLeaksItsMessage", &medrec.Error{Code: medrec.EINTERNAL, Message: "db password is hunter2", Err: secret}, medrec.EINTERNAL, "internal error", 0},
		{"InvalidCarriesFields", medrec.Invalid(medrec.FieldError{Field: "email", Message: "is required"}, medrec.FieldError{Field: "role", Message: "bad"}), medrec.EINVALID, "the request has invalid fields", 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := medrec.ErrorCode(tc.err); got != tc.code {
				t.Errorf("ErrorCode = %q, want %q", got, tc.code)
			}
			if got := medrec.ErrorMessage(tc.err); got != tc.msg {
				t.Errorf("ErrorMessage = %q, want %q", got, tc.msg)
			}
			if got := len(medrec.ErrorFields(tc.err)); got != tc.fieldsCount {
				t.Errorf("len(ErrorFields) = %d, want %d", got, tc.fieldsCount)
			}
		})
	}
}

func TestErrorUnwrapsToCause(t *testing.T) {
	t.Parallel()
	cause := errors.New("cause")
	err := fmt.Errorf("outer: %w", &medrec.Error{Code: medrec.EUNAVAILABLE, Err: cause})
	if !errors.Is(err, cause) {
		t.Fatal("errors.Is does not reach the wrapped cause")
	}
}
