package httpapi

import (
	"net/http"
	"slices"
	"strconv"

	"medrec"
)

// The helpers every handler uses to turn request input into field errors,
// so that all of a request's problems come back in one 400.

// dateFieldMessage is what a malformed date field is told.
const dateFieldMessage = "must be a date YYYY-MM-DD"

// field is one named input value, for requireFields.
type field struct{ name, value string }

// requireFields reports every empty required field at once, in order.
func requireFields(fields ...field) error {
	var missing []medrec.FieldError
	for _, f := range fields {
		if f.value == "" {
			missing = append(missing, medrec.FieldError{Field: f.name, Message: "is required"})
		}
	}
	if len(missing) > 0 {
		return medrec.Invalid(missing...)
	}
	return nil
}

// dateField reads a "YYYY-MM-DD" field; "" is the zero date, which
// the domain's Validate reports as missing where a date is required.
func dateField(name, s string) (medrec.Date, *medrec.FieldError) {
	if s == "" {
		return medrec.Date{}, nil
	}
	d, err := medrec.ParseDate(s)
	if err != nil {
		return medrec.Date{}, &medrec.FieldError{Field: name, Message: dateFieldMessage}
	}
	return d, nil
}

// mergeFields returns first plus those of err's fields that name a field
// first does not already name: every problem once, in one 400.
func mergeFields(first []medrec.FieldError, err error) []medrec.FieldError {
	out := slices.Clone(first)
	for _, f := range medrec.ErrorFields(err) {
		if !hasField(first, f.Field) {
			out = append(out, f)
		}
	}
	return out
}

// notNull refuses a JSON null for a column that cannot be NULL: in a PATCH
// it would otherwise be read as "leave it as it is".
func notNull(fields []medrec.FieldError, field string, v medrec.NullableString) ([]medrec.FieldError, *string) {
	if v.Set && v.Value == nil {
		return append(fields, medrec.FieldError{Field: field, Message: "must not be null"}), nil
	}
	return fields, v.Value
}

func hasField(fields []medrec.FieldError, name string) bool {
	for _, f := range fields {
		if f.Field == name {
			return true
		}
	}
	return false
}

// pageFrom reads limit and cursor from the query string.
func pageFrom(r *http.Request) (medrec.Page, []medrec.FieldError) {
	q := r.URL.Query()
	p := medrec.Page{Cursor: q.Get("cursor")}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return p, []medrec.FieldError{{Field: "limit", Message: "must be a whole number between 1 and 200"}}
		}
		p.Limit = n
	}
	if err := p.Normalize(); err != nil {
		return p, medrec.ErrorFields(err)
	}
	return p, nil
}

// optionalDateField is dateField for a field that may be absent (nil).
func optionalDateField(name string, s *string) (*medrec.Date, *medrec.FieldError) {
	if s == nil {
		return nil, nil
	}
	d, fe := dateField(name, *s)
	if fe != nil {
		return nil, fe
	}
	if *s == "" {
		return nil, &medrec.FieldError{Field: name, Message: dateFieldMessage}
	}
	return &d, nil
}
