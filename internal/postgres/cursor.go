package postgres

import (
	"encoding/base64"
	"strings"
	"time"

	"medrec"
)

// Cursors are opaque to clients: base64url of "created_at|id" of the last
// row of a page. Keyset pagination on (created_at, id) stays fast however
// deep the page, where OFFSET would read every row before it.

func encodeCursor(created time.Time, id string) string {
	return encodeCursorAt(created, id, time.RFC3339Nano)
}

// decodeCursor returns nils for an empty cursor.
func decodeCursor(cursor string) (*time.Time, *string, error) {
	return decodeCursorAt(cursor, time.RFC3339Nano)
}

// encodeCursorAt is encodeCursor for a list ordered by another instant or
// date, written in layout (time.DateOnly for the expiring list's end_date).
func encodeCursorAt(key time.Time, id, layout string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(key.UTC().Format(layout) + "|" + id))
}

// decodeCursorAt reads what encodeCursorAt wrote with the same layout.
func decodeCursorAt(cursor, layout string) (*time.Time, *string, error) {
	if cursor == "" {
		return nil, nil, nil
	}
	bad := medrec.Invalid(medrec.FieldError{Field: "cursor", Message: "is not a cursor this service issued"})
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return nil, nil, bad
	}
	ts, id, ok := strings.Cut(string(raw), "|")
	if !ok || !medrec.IsUUID(id) {
		return nil, nil, bad
	}
	t, err := time.Parse(layout, ts)
	if err != nil {
		return nil, nil, bad
	}
	return &t, &id, nil
}
