package medrec

// IsUUID reports whether s is a UUID in its canonical 8-4-4-4-12
// hexadecimal form: the form every id in the API takes. Checking it before
// the database is asked turns a malformed id into a clear 404 or 400
// instead of a cast error.
func IsUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}
