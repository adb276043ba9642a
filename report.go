package medrec

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"
)

// Report types and statuses: the spec's values for medical_reports.
const (
	ReportTypeLab          = "LAB"
	ReportTypeImaging      = "IMAGING"
	ReportTypePathology    = "PATHOLOGY"
	ReportTypeConsultation = "CONSULTATION"

	ReportProcessing = "PROCESSING"
	ReportCompleted  = "COMPLETED"
	ReportReviewed   = "REVIEWED"
	ReportArchived   = "ARCHIVED"
)

// DefaultReportMaxBytes is the largest report file accepted when no other
// limit is configured: 25 MiB.
const DefaultReportMaxBytes int64 = 25 << 20

// reportStatusOrder is the one direction a report's status moves.
var reportStatusOrder = []string{ReportProcessing, ReportCompleted, ReportReviewed, ReportArchived}

// ValidReportType reports whether t is one of the spec's report types.
func ValidReportType(t string) bool {
	switch t {
	case ReportTypeLab, ReportTypeImaging, ReportTypePathology, ReportTypeConsultation:
		return true
	}
	return false
}

func reportStatusRank(s string) int {
	for i, v := range reportStatusOrder {
		if v == s {
			return i
		}
	}
	return -1
}

// ValidReportStatus reports whether s is one of the spec's report statuses.
func ValidReportStatus(s string) bool { return reportStatusRank(s) >= 0 }

// ReportStatusMoveAllowed reports whether a report may go from one status
// to another: only forward along PROCESSING → COMPLETED → REVIEWED →
// ARCHIVED, skipping ahead allowed; staying put or going back is not.
func ReportStatusMoveAllowed(from, to string) bool {
	f, t := reportStatusRank(from), reportStatusRank(to)
	return f >= 0 && t > f
}

// Limits of a report's text fields (the spec's column widths).
const (
	maxReportTitle   = 255
	maxReportSummary = 100_000
)

// reportToday is the latest calendar date anywhere on earth (UTC+14) at
// now: a report dated today by a clinician in any time zone is not "in the
// future", and one dated later than that is.
func reportToday(now time.Time) time.Time {
	y, m, d := now.UTC().Add(14 * time.Hour).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// NewReport is what a clinician uploads with a report file. The file
// itself travels separately, as a stream.
type NewReport struct {
	PatientID  string
	Title      string
	ReportType string
	ReportDate string // YYYY-MM-DD, as received
	Summary    *string
}

// Validate checks every field at once and returns EINVALID naming each bad
// one; now is the clock that decides what "in the future" means.
func (n NewReport) Validate(now time.Time) error {
	var fields []FieldError
	title := strings.TrimSpace(n.Title)
	switch {
	case title == "":
		fields = append(fields, FieldError{Field: "title", Message: "is required"})
	case !utf8.ValidString(n.Title) || utf8.RuneCountInString(n.Title) > maxReportTitle:
		fields = append(fields, FieldError{Field: "title", Message: fmt.Sprintf("must be valid text of at most %d characters", maxReportTitle)})
	}
	switch {
	case n.ReportType == "":
		fields = append(fields, FieldError{Field: "report_type", Message: "is required"})
	case !ValidReportType(n.ReportType):
		fields = append(fields, FieldError{Field: "report_type", Message: "must be one of LAB, IMAGING, PATHOLOGY, CONSULTATION"})
	}
	if n.ReportDate == "" {
		fields = append(fields, FieldError{Field: "report_date", Message: "is required"})
	} else if d, err := ParseDate(n.ReportDate); err != nil {
		fields = append(fields, FieldError{Field: "report_date", Message: "must be a date YYYY-MM-DD"})
	} else if d.After(reportToday(now)) {
		fields = append(fields, FieldError{Field: "report_date", Message: "must not be in the future"})
	}
	if n.Summary != nil && (!utf8.ValidString(*n.Summary) || len(*n.Summary) > maxReportSummary) {
		fields = append(fields, FieldError{Field: "summary", Message: fmt.Sprintf("must be valid text of at most %d bytes", maxReportSummary)})
	}
	if len(fields) > 0 {
		return Invalid(fields...)
	}
	return nil
}

// ReportUpdate changes a report: only the fields that are not nil. An
// empty Summary clears it. IfMatch, when set, is the updated_at the caller
// last saw; the update fails with EPRECONDITION if the report changed since.
type ReportUpdate struct {
	Title   *string
	Summary *string
	Status  *string
	IfMatch *time.Time
}

// Validate checks the fields given, all at once.
func (u ReportUpdate) Validate() error {
	var fields []FieldError
	if u.Title != nil {
		if t := strings.TrimSpace(*u.Title); t == "" || !utf8.ValidString(*u.Title) || utf8.RuneCountInString(*u.Title) > maxReportTitle {
			fields = append(fields, FieldError{Field: "title", Message: fmt.Sprintf("must be non-empty text of at most %d characters", maxReportTitle)})
		}
	}
	if u.Summary != nil && (!utf8.ValidString(*u.Summary) || len(*u.Summary) > maxReportSummary) {
		fields = append(fields, FieldError{Field: "summary", Message: fmt.Sprintf("must be valid text of at most %d bytes", maxReportSummary)})
	}
	if u.Status != nil && !ValidReportStatus(*u.Status) {
		fields = append(fields, FieldError{Field: "status", Message: "must be one of PROCESSING, COMPLETED, REVIEWED, ARCHIVED"})
	}
	if len(fields) > 0 {
		return Invalid(fields...)
	}
	return nil
}

// ReportFilter selects a patient's reports; nil fields do not filter.
// From and To bound report_date, both inclusive.
type ReportFilter struct {
	PatientID  string
	ReportType *string
	Status     *string
	From, To   *Date
	Page       Page
}

// ReportFile is a report's stored file, opened for reading after its
// SHA-256 and size were checked against what the upload recorded.
type ReportFile struct {
	Body        io.ReadCloser
	ContentType string
	Size        int64
	SHA256      string
	// Filename is made by the server (never the uploader's name), safe
	// for a Content-Disposition header.
	Filename string
}

// ReportService stores medical reports and their files. Every read writes
// a READ audit row in the same transaction.
type ReportService interface {
	// CreateReport validates n, stores file (streamed, never buffered
	// whole) in the blob store and inserts the report as the caller's own
	// doctor record, with status PROCESSING. The row and the file are
	// stored together or not at all. Errors: EINVALID (fields, an empty or
	// interrupted file), EFORBIDDEN (the caller has no ACTIVE doctor
	// record), ENOTFOUND (patient missing or not in the caller's care),
	// ETOOLARGE, EUNSUPPORTED (file type).
	CreateReport(ctx context.Context, n NewReport, file io.Reader) (*Report, error)
	// FindReportByID returns one report. Errors: ENOTFOUND.
	FindReportByID(ctx context.Context, id string) (*Report, error)
	// FindReports lists a patient's reports, newest first, and the cursor
	// of the next page ("" on the last). Errors: ENOTFOUND (patient),
	// EINVALID (filter, cursor).
	FindReports(ctx context.Context, f ReportFilter) ([]*Report, string, error)
	// UpdateReport changes title, summary or status (forward only).
	// Errors: ENOTFOUND, EFORBIDDEN (not the author), EINVALID,
	// ECONFLICT (illegal status move), EPRECONDITION (If-Match).
	UpdateReport(ctx context.Context, id string, u ReportUpdate) (*Report, error)
	// OpenReportFile opens a report's file after checking its integrity;
	// the caller closes Body. Errors: ENOTFOUND (report, or no file),
	// EINTERNAL (the stored file does not match its recorded hash).
	OpenReportFile(ctx context.Context, id string) (*ReportFile, error)
}

// BlobRef is what the blob store knows about a stored file.
type BlobRef struct {
	Key         string // the store's own random key, never a client's name
	SHA256      string // lowercase hex
	Size        int64
	ContentType string // detected from the bytes
}

// BlobStore keeps report files. Implementations detect the content type
// from the bytes themselves and accept only PDF, PNG, JPEG, TIFF and
// plain UTF-8 text.
type BlobStore interface {
	// Put stores r under a new random key, computing its SHA-256 and
	// size as it streams. The file appears whole or not at all. Errors:
	// ETOOLARGE (more than maxBytes; nothing is kept), EUNSUPPORTED
	// (content type), EINVALID (empty, or r failed: the error from r is
	// passed through if it is a *Error).
	Put(ctx context.Context, r io.Reader, maxBytes int64) (BlobRef, error)
	// Open opens a stored file. Errors: ENOTFOUND (unknown or malformed key).
	Open(ctx context.Context, key string) (io.ReadCloser, error)
	// Delete removes a stored file; a missing one is not an error.
	// Errors: EINVALID (malformed key).
	Delete(ctx context.Context, key string) error
	// URL is the storage_url recorded for key.
	URL(key string) string
	// KeyFromURL is the key of a storage_url this store made. Errors:
	// EINVALID (not one of this store's URLs).
	KeyFromURL(url string) (string, error)
}

// DeleteReportFiles removes the files behind storage URLs, for erasing a
// patient after their rows are gone. It tries every URL and returns every
// failure; a file already gone is not one.
func DeleteReportFiles(ctx context.Context, store BlobStore, storageURLs []string) error {
	var errs []error
	for _, u := range storageURLs {
		key, err := store.KeyFromURL(u)
		if err == nil {
			err = store.Delete(ctx, key)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("delete report file %q: %w", u, err))
		}
	}
	return errors.Join(errs...)
}
