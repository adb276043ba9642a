package medrec

// Page sizes of every list route: the API's default and ceiling.
const (
	DefaultPageSize = 50
	MaxPageSize     = 200
)

// Page asks for one page of a list: at most Limit items after the opaque
// Cursor a previous page returned.
type Page struct {
	Limit  int
	Cursor string
}

// Normalize applies the default size and checks the ceiling.
func (p *Page) Normalize() error {
	switch {
	case p.Limit == 0:
		p.Limit = DefaultPageSize
	case p.Limit < 1 || p.Limit > MaxPageSize:
		return Invalid(FieldError{Field: "limit", Message: "must be between 1 and 200"})
	}
	return nil
}
