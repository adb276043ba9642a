package httpapi

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"
	"time"

	"medrec"
)

// reportFormFieldMax caps one text part of an upload form (the summary is
// the longest, at 100,000 bytes).
const reportFormFieldMax = 100_000

// reportUploadOverhead is what an upload's body may carry beyond the file
// itself: the text fields and the multipart framing.
const reportUploadOverhead int64 = 1 << 20

// reportFileTimeout bounds one upload or download: a 25 MiB file over a
// slow link needs longer than the server's default read and write timeouts.
const reportFileTimeout = 10 * time.Minute

// handleReportCreate takes a multipart/form-data upload: the text parts
// title, report_type, report_date and summary (optional) first, then the
// part named "file", last. The file is streamed to the blob store as it
// arrives, never held in memory; its type is detected from its bytes, and
// its client-side name and Content-Type are ignored.
func (s *Server) handleReportCreate(w http.ResponseWriter, r *http.Request) {
	mediaType, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mediaType != "multipart/form-data" || params["boundary"] == "" {
		writeError(w, r, &medrec.Error{Code: medrec.EUNSUPPORTED, Message: "the request body must be multipart/form-data", Err: err})
		return
	}
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Now().Add(reportFileTimeout))
	_ = rc.SetWriteDeadline(time.Now().Add(reportFileTimeout))

	n := medrec.NewReport{PatientID: r.PathValue("id")}
	mr := multipart.NewReader(r.Body, params["boundary"])
	seen := map[string]bool{}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			// The form ended without a file.
			fields := []medrec.FieldError{{Field: "file", Message: "is required, as the last part of the form"}}
			for _, f := range []field{{"title", n.Title}, {"report_type", n.ReportType}, {"report_date", n.ReportDate}} {
				if f.value == "" {
					fields = append(fields, medrec.FieldError{Field: f.name, Message: "is required"})
				}
			}
			writeError(w, r, medrec.Invalid(fields...))
			return
		}
		if err != nil {
			writeError(w, r, multipartError(err))
			return
		}
		name := part.FormName()
		if seen[name] {
			writeError(w, r, medrec.Invalid(medrec.FieldError{Field: name, Message: "is given more than once"}))
			return
		}
		seen[name] = true
		switch name {
		case "title", "report_type", "report_date", "summary":
			v, err := io.ReadAll(io.LimitReader(part, reportFormFieldMax+1))
			if err != nil {
				writeError(w, r, multipartError(err))
				return
			}
			if len(v) > reportFormFieldMax {
				writeError(w, r, medrec.Invalid(medrec.FieldError{Field: name, Message: fmt.Sprintf("must be at most %d bytes", reportFormFieldMax)}))
				return
			}
			switch value := string(v); name {
			case "title":
				n.Title = value
			case "report_type":
				n.ReportType = value
			case "report_date":
				n.ReportDate = value
			case "summary":
				n.Summary = &value
			}
		case "file":
			s.createReport(w, r, n, &lastPart{part: part, mr: mr})
			return
		default:
			writeError(w, r, medrec.Invalid(medrec.FieldError{Field: name, Message: "unknown field"}))
			return
		}
	}
}

func (s *Server) createReport(w http.ResponseWriter, r *http.Request, n medrec.NewReport, file io.Reader) {
	report, err := s.reports.CreateReport(r.Context(), n, file)
	if err != nil {
		writeError(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/reports/"+report.ID)
	setETag(w, report.UpdatedAt)
	respond(w, r, http.StatusCreated, report)
}

// lastPart reads the file part and, at its end, makes sure it was the last
// part of a complete form: trailing parts or a body cut short after the
// file fail the read, so the upload fails before any row is written.
type lastPart struct {
	part *multipart.Part
	mr   *multipart.Reader
}

func (p *lastPart) Read(b []byte) (int, error) {
	n, err := p.part.Read(b)
	if errors.Is(err, io.EOF) {
		next, nerr := p.mr.NextPart()
		switch {
		case errors.Is(nerr, io.EOF):
			return n, io.EOF
		case nerr == nil:
			next.Close()
			return n, medrec.Invalid(medrec.FieldError{Field: "file", Message: "must be the last part of the form"})
		default:
			return n, multipartError(nerr)
		}
	}
	if err != nil {
		return n, multipartError(err)
	}
	return n, nil
}

// multipartError is a failure to read the form: over the body limit, or a
// body that is malformed or was cut short (a client that went away).
func multipartError(err error) error {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return &medrec.Error{Code: medrec.ETOOLARGE, Message: fmt.Sprintf("the request body exceeds %d bytes", tooBig.Limit), Err: err}
	}
	var me *medrec.Error
	if errors.As(err, &me) {
		return err
	}
	return &medrec.Error{Code: medrec.EINVALID, Message: "the multipart body is malformed or incomplete", Err: err}
}

func (s *Server) handleReportList(w http.ResponseWriter, r *http.Request) {
	page, fields := pageFrom(r)
	f := medrec.ReportFilter{PatientID: r.PathValue("id"), Page: page}
	q := r.URL.Query()
	if v := q.Get("report_type"); v != "" {
		f.ReportType = &v
	}
	if v := q.Get("status"); v != "" {
		f.Status = &v
	}
	for _, d := range []struct {
		name string
		dst  **medrec.Date
	}{{"from", &f.From}, {"to", &f.To}} {
		if v := q.Get(d.name); v != "" {
			date, fe := dateField(d.name, v)
			if fe != nil {
				fields = append(fields, *fe)
				continue
			}
			*d.dst = &date
		}
	}
	if len(fields) > 0 {
		writeError(w, r, medrec.Invalid(fields...))
		return
	}
	reports, next, err := s.reports.FindReports(r.Context(), f)
	if err != nil {
		writeError(w, r, err)
		return
	}
	respond(w, r, http.StatusOK, newList(reports, next))
}

func (s *Server) handleReportGet(w http.ResponseWriter, r *http.Request) {
	report, err := s.reports.FindReportByID(r.Context(), r.PathValue("id"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	setETag(w, report.UpdatedAt)
	respond(w, r, http.StatusOK, report)
}

// updateReportRequest holds what may change; an empty summary clears it.
type updateReportRequest struct {
	Title   *string `json:"title"`
	Summary *string `json:"summary"`
	Status  *string `json:"status"`
}

func (s *Server) handleReportUpdate(w http.ResponseWriter, r *http.Request) {
	var in updateReportRequest
	if err := decodeJSON(w, r, &in); err != nil {
		writeError(w, r, err)
		return
	}
	match, err := ifMatch(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	report, err := s.reports.UpdateReport(r.Context(), r.PathValue("id"), medrec.ReportUpdate{
		Title: in.Title, Summary: in.Summary, Status: in.Status, IfMatch: match,
	})
	if err != nil {
		writeError(w, r, err)
		return
	}
	setETag(w, report.UpdatedAt)
	respond(w, r, http.StatusOK, report)
}

// handleReportFile streams a report's file. The service has already
// checked its size and SHA-256 against the row, so a corrupted file is
// refused before a byte of it is sent.
func (s *Server) handleReportFile(w http.ResponseWriter, r *http.Request) {
	f, err := s.reports.OpenReportFile(r.Context(), r.PathValue("id"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	defer f.Body.Close()
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(reportFileTimeout))
	h := w.Header()
	h.Set("Content-Type", f.ContentType)
	h.Set("Content-Length", strconv.FormatInt(f.Size, 10))
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": f.Filename}))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	if sum, err := hex.DecodeString(f.SHA256); err == nil {
		h.Set("Repr-Digest", "sha-256=:"+base64.StdEncoding.EncodeToString(sum)+":")
	}
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	if _, err := io.Copy(w, f.Body); err != nil {
		ctx := r.Context()
		loggerFrom(ctx).LogAttrs(ctx, slog.LevelWarn, "report file download interrupted", slog.String("error", err.Error()))
	}
}
