package postgres

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"medrec"
	"medrec/internal/postgres/internal/dbsqlc"
)

// ReportConfig is what a ReportService needs besides the database.
type ReportConfig struct {
	// Blobs keeps the report files. Required.
	Blobs medrec.BlobStore
	// MaxBytes caps one report file; zero means medrec.DefaultReportMaxBytes.
	MaxBytes int64
	// Now is the clock that decides whether a report_date lies in the
	// future; nil means time.Now.
	Now func() time.Time
	// Logger receives what must reach an operator even though the request
	// already has its answer (a blob that could not be cleaned up). Nil
	// means slog.Default().
	Logger *slog.Logger
}

// ReportService implements medrec.ReportService on PostgreSQL and a blob
// store. Row-level security stands behind every query: reports are read in
// care and written only by a CLINICIAN in care as their own ACTIVE doctor
// record, whatever this code checks.
type ReportService struct {
	db  *DB
	cfg ReportConfig
}

var _ medrec.ReportService = (*ReportService)(nil)

// NewReportService returns a ReportService on db.
func NewReportService(db *DB, cfg ReportConfig) *ReportService {
	if cfg.Blobs == nil {
		panic("postgres.NewReportService: no blob store")
	}
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = medrec.DefaultReportMaxBytes
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &ReportService{db: db, cfg: cfg}
}

// MaxBytes is the largest report file the service accepts.
func (s *ReportService) MaxBytes() int64 { return s.cfg.MaxBytes }

var (
	errReportNotFound = medrec.Errorf(medrec.ENOTFOUND, "report not found")
	errNoDoctor       = medrec.Errorf(medrec.EFORBIDDEN, "only a clinician with an ACTIVE doctor record may author reports")
	errNotAuthor      = medrec.Errorf(medrec.EFORBIDDEN, "only the report's author may change it")
)

func reportFromRow(r dbsqlc.MedicalReport) *medrec.Report {
	return &medrec.Report{
		ID: r.ID, PatientID: r.PatientID, DoctorID: r.DoctorID, Title: r.Title, ReportType: r.ReportType,
		StorageURL: r.StorageUrl, Summary: r.Summary, ReportDate: medrec.Date{Time: r.ReportDate},
		Status: r.Status, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
	}
}

// checkAuthor answers whether the caller may author a report for the
// patient right now: ENOTFOUND if the patient is not visible, EFORBIDDEN
// without an ACTIVE doctor record of their own.
func checkAuthor(ctx context.Context, q *dbsqlc.Queries, patientID string) (string, error) {
	c := medrec.CallerFromContext(ctx)
	if c == nil || c.Role != medrec.RoleClinician || c.DoctorID == "" {
		return "", errNoDoctor
	}
	if err := requirePatient(ctx, q, patientID); err != nil {
		return "", err
	}
	doctorID, err := q.ReportCallerDoctor(ctx)
	if err != nil {
		return "", translate(err)
	}
	if doctorID == "" || doctorID != c.DoctorID {
		return "", errNoDoctor
	}
	return doctorID, nil
}

// CreateReport stores the file and the report row together or not at all:
// fields are checked first, then (in a short transaction) that the caller
// may author a report for this patient, so that no file of a patient
// outside their care is ever written; then the file is streamed to the
// blob store and the row inserted. If the insert fails, the file is
// deleted again.
func (s *ReportService) CreateReport(ctx context.Context, n medrec.NewReport, file io.Reader) (*medrec.Report, error) {
	if err := n.Validate(s.cfg.Now()); err != nil {
		return nil, err
	}
	// The check only reads: the Idempotency-Key claim goes with the
	// INSERT below, after the file has been read whole.
	if err := s.db.inTx(medrec.WithoutIdempotencyClaim(ctx), func(tx pgx.Tx) error {
		_, err := checkAuthor(ctx, dbsqlc.New(tx), n.PatientID)
		return err
	}); err != nil {
		return nil, fmt.Errorf("create report: %w", err)
	}

	ref, err := s.cfg.Blobs.Put(ctx, file, s.cfg.MaxBytes)
	if err != nil {
		return nil, fmt.Errorf("create report: store file: %w", err)
	}
	var report *medrec.Report
	err = s.db.inTx(ctx, func(tx pgx.Tx) error {
		q := dbsqlc.New(tx)
		doctorID, err := checkAuthor(ctx, q, n.PatientID)
		if err != nil {
			return err
		}
		date, _ := medrec.ParseDate(n.ReportDate) // Validate checked it
		summary := n.Summary
		if summary != nil && *summary == "" {
			summary = nil
		}
		row, err := q.ReportCreate(ctx, dbsqlc.ReportCreateParams{
			PatientID: n.PatientID, DoctorID: doctorID, Title: n.Title, ReportType: n.ReportType,
			StorageUrl: s.cfg.Blobs.URL(ref.Key), Summary: summary, ReportDate: date.Time,
			FileSha256: &ref.SHA256, FileSize: &ref.Size, FileContentType: &ref.ContentType,
		})
		if err != nil {
			return reportWriteError(err)
		}
		report = reportFromRow(row)
		return nil
	})
	if err != nil {
		// The request may have been cancelled: the clean-up must still run.
		if derr := s.cfg.Blobs.Delete(context.WithoutCancel(ctx), ref.Key); derr != nil {
			s.cfg.Logger.ErrorContext(ctx, "report file left without a report: delete it by hand",
				slog.String("blob_key", ref.Key), slog.String("error", derr.Error()))
		}
		return nil, fmt.Errorf("create report: %w", err)
	}
	return report, nil
}

// reportWriteError translates an INSERT or UPDATE error; a row-level
// security refusal (42501) means the caller lost the right to write
// between the check and the write.
func reportWriteError(err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42501" {
		return &medrec.Error{Code: medrec.EFORBIDDEN, Message: "you may not write this report", Err: err}
	}
	return translate(err)
}

// FindReportByID returns one report and audits the read.
func (s *ReportService) FindReportByID(ctx context.Context, id string) (*medrec.Report, error) {
	if !medrec.IsUUID(id) {
		return nil, errReportNotFound
	}
	var report *medrec.Report
	err := s.db.inTx(ctx, func(tx pgx.Tx) error {
		row, err := dbsqlc.New(tx).ReportGet(ctx, id)
		if errors.Is(err, pgx.ErrNoRows) {
			return errReportNotFound
		} else if err != nil {
			return translate(err)
		}
		report = reportFromRow(row)
		return recordRead(ctx, tx, ReadAccess{Table: "medical_reports", RecordID: row.ID, PatientID: row.PatientID, What: "report"})
	})
	if err != nil {
		return nil, fmt.Errorf("find report: %w", err)
	}
	return report, nil
}

// FindReports lists a patient's reports and audits the read.
func (s *ReportService) FindReports(ctx context.Context, f medrec.ReportFilter) ([]*medrec.Report, string, error) {
	if err := f.Page.Normalize(); err != nil {
		return nil, "", err
	}
	var fields []medrec.FieldError
	if f.ReportType != nil && !medrec.ValidReportType(*f.ReportType) {
		fields = append(fields, medrec.FieldError{Field: "report_type", Message: "must be one of LAB, IMAGING, PATHOLOGY, CONSULTATION"})
	}
	if f.Status != nil && !medrec.ValidReportStatus(*f.Status) {
		fields = append(fields, medrec.FieldError{Field: "status", Message: "must be one of PROCESSING, COMPLETED, REVIEWED, ARCHIVED"})
	}
	if f.From != nil && f.To != nil && f.From.After(f.To.Time) {
		fields = append(fields, medrec.FieldError{Field: "from", Message: "must not be after to"})
	}
	afterCreated, afterID, err := decodeCursor(f.Page.Cursor)
	if err != nil {
		fields = append(fields, medrec.ErrorFields(err)...)
	}
	if len(fields) > 0 {
		return nil, "", medrec.Invalid(fields...)
	}
	params := dbsqlc.ReportListParams{
		PatientID: f.PatientID, ReportType: f.ReportType, Status: f.Status,
		AfterCreated: afterCreated, AfterID: afterID, RowLimit: int32(f.Page.Limit + 1),
	}
	if f.From != nil {
		params.DateFrom = &f.From.Time
	}
	if f.To != nil {
		params.DateTo = &f.To.Time
	}
	var (
		reports []*medrec.Report
		next    string
	)
	err = s.db.inTx(ctx, func(tx pgx.Tx) error {
		q := dbsqlc.New(tx)
		if err := requirePatient(ctx, q, f.PatientID); err != nil {
			return err
		}
		rows, err := q.ReportList(ctx, params)
		if err != nil {
			return translate(err)
		}
		if len(rows) > f.Page.Limit {
			rows = rows[:f.Page.Limit]
			last := rows[len(rows)-1]
			next = encodeCursor(last.CreatedAt, last.ID)
		}
		for _, r := range rows {
			reports = append(reports, reportFromRow(r))
		}
		return recordRead(ctx, tx, ReadAccess{Table: "medical_reports", RecordID: f.PatientID, PatientID: f.PatientID, What: "report_list"})
	})
	if err != nil {
		return nil, "", fmt.Errorf("list reports: %w", err)
	}
	return reports, next, nil
}

// UpdateReport changes a report's title, summary or status.
func (s *ReportService) UpdateReport(ctx context.Context, id string, u medrec.ReportUpdate) (*medrec.Report, error) {
	if err := u.Validate(); err != nil {
		return nil, err
	}
	if !medrec.IsUUID(id) {
		return nil, errReportNotFound
	}
	var report *medrec.Report
	err := s.db.inTx(ctx, func(tx pgx.Tx) error {
		q := dbsqlc.New(tx)
		// FOR UPDATE sees only what the update policy lets the caller
		// change; a report they may read but not change is a 403, one
		// they may not read a 404.
		row, err := q.ReportGetForUpdate(ctx, id)
		if errors.Is(err, pgx.ErrNoRows) {
			if _, err := q.ReportGet(ctx, id); errors.Is(err, pgx.ErrNoRows) {
				return errReportNotFound
			} else if err != nil {
				return translate(err)
			}
			return errNotAuthor
		} else if err != nil {
			return translate(err)
		}
		if u.IfMatch != nil && !row.UpdatedAt.Equal(*u.IfMatch) {
			return medrec.Errorf(medrec.EPRECONDITION, "the report changed since you read it")
		}
		if u.Status != nil && !medrec.ReportStatusMoveAllowed(row.Status, *u.Status) {
			return medrec.Errorf(medrec.ECONFLICT, "a report's status only moves forward (PROCESSING, COMPLETED, REVIEWED, ARCHIVED); it is %s", row.Status)
		}
		params := dbsqlc.ReportUpdateParams{ID: id, Title: u.Title, Status: u.Status}
		if u.Summary != nil {
			params.SetSummary = true
			if *u.Summary != "" {
				params.Summary = u.Summary
			}
		}
		updated, err := q.ReportUpdate(ctx, params)
		if err != nil {
			return reportWriteError(err)
		}
		report = reportFromRow(updated)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("update report: %w", err)
	}
	return report, nil
}

// OpenReportFile audits the read, then opens the file and checks its size
// and SHA-256 against the row before anything is returned: a file that
// does not match is never served. The check reads the whole file once; the
// body returned reads it again from the start.
func (s *ReportService) OpenReportFile(ctx context.Context, id string) (*medrec.ReportFile, error) {
	if !medrec.IsUUID(id) {
		return nil, errReportNotFound
	}
	var row dbsqlc.MedicalReport
	err := s.db.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		row, err = dbsqlc.New(tx).ReportGet(ctx, id)
		if errors.Is(err, pgx.ErrNoRows) {
			return errReportNotFound
		} else if err != nil {
			return translate(err)
		}
		return recordRead(ctx, tx, ReadAccess{Table: "medical_reports", RecordID: row.ID, PatientID: row.PatientID, What: "report_file"})
	})
	if err != nil {
		return nil, fmt.Errorf("open report file: %w", err)
	}
	if row.FileSha256 == nil || row.FileSize == nil || row.FileContentType == nil {
		return nil, medrec.Errorf(medrec.ENOTFOUND, "this report has no stored file")
	}
	key, err := s.cfg.Blobs.KeyFromURL(row.StorageUrl)
	if err != nil {
		return nil, fmt.Errorf("open report file %s: storage_url %q: %w", id, row.StorageUrl, asInternal(err))
	}
	body, err := s.cfg.Blobs.Open(ctx, key)
	if err != nil {
		// The row says there is a file: its absence is a fault, not a 404.
		return nil, fmt.Errorf("open report file %s: integrity failure: %w", id, asInternal(err))
	}
	body, err = verified(body, *row.FileSha256, *row.FileSize)
	if err != nil {
		return nil, fmt.Errorf("open report file %s: integrity failure: %w", id, err)
	}
	return &medrec.ReportFile{
		Body: body, ContentType: *row.FileContentType, Size: *row.FileSize, SHA256: *row.FileSha256,
		Filename: reportFilename(row),
	}, nil
}

// asInternal keeps err's text for the log but makes it EINTERNAL, so that
// a store's ENOTFOUND or EINVALID does not reach the caller as their fault.
func asInternal(err error) error {
	return &medrec.Error{Code: medrec.EINTERNAL, Message: "internal error", Err: err}
}

// verified reads body once, hashing it, and returns a reader of the same
// bytes from the start if they match; otherwise it closes body and fails.
// A store whose reader cannot seek is copied to an unlinked temporary file
// as it is hashed, so what is served is exactly what was checked.
func verified(body io.ReadCloser, wantSHA string, wantSize int64) (io.ReadCloser, error) {
	h := sha256.New()
	if rs, ok := body.(io.ReadSeekCloser); ok {
		n, err := io.Copy(h, rs)
		if err == nil {
			err = checkSum(h.Sum(nil), n, wantSHA, wantSize)
		}
		if err == nil {
			_, err = rs.Seek(0, io.SeekStart)
		}
		if err != nil {
			rs.Close()
			return nil, asInternal(err)
		}
		return rs, nil
	}
	defer body.Close()
	spool, err := os.CreateTemp("", "medrec-report-*")
	if err != nil {
		return nil, asInternal(err)
	}
	_ = os.Remove(spool.Name()) // unlinked: gone when closed
	n, err := io.Copy(io.MultiWriter(spool, h), body)
	if err == nil {
		err = checkSum(h.Sum(nil), n, wantSHA, wantSize)
	}
	if err == nil {
		_, err = spool.Seek(0, io.SeekStart)
	}
	if err != nil {
		spool.Close()
		return nil, asInternal(err)
	}
	return spool, nil
}

func checkSum(sum []byte, n int64, wantSHA string, wantSize int64) error {
	if n != wantSize {
		return fmt.Errorf("stored file has %d bytes, the report recorded %d", n, wantSize)
	}
	if got := hex.EncodeToString(sum); got != wantSHA {
		return fmt.Errorf("stored file has SHA-256 %s, the report recorded %s", got, wantSHA)
	}
	return nil
}

// reportFilename is a download name made only of the report's date and id
// and the detected type: nothing a client typed reaches the header.
func reportFilename(r dbsqlc.MedicalReport) string {
	ext := ".bin"
	switch ct := *r.FileContentType; {
	case ct == "application/pdf":
		ext = ".pdf"
	case ct == "image/png":
		ext = ".png"
	case ct == "image/jpeg":
		ext = ".jpg"
	case ct == "image/tiff":
		ext = ".tiff"
	case len(ct) >= 10 && ct[:10] == "text/plain":
		ext = ".txt"
	}
	return fmt.Sprintf("report-%s-%s%s", r.ReportDate.Format(time.DateOnly), r.ID, ext)
}
