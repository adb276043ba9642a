package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"medrec"
)

// Report files made in the tests, each with its type's magic number.
var reportSamples = []struct {
	name, contentType string
	body              []byte
}{
	{"PDF", "application/pdf", []byte("%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n%%EOF\n")},
	{"PNG", "image/png", append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), bytes.Repeat([]byte{0x42, 0x00, 0xff}, 100)...)},
	{"JPEG", "image/jpeg", append([]byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01"), bytes.Repeat([]byte{0x00, 0x9c}, 100)...)},
	{"TIFF", "image/tiff", append([]byte("II*\x00\x08\x00\x00\x00"), bytes.Repeat([]byte{0x01, 0x00}, 100)...)},
	{"Text", "text/plain; charset=utf-8", []byte("Hämoglobin 14.2 g/dL\nLeukozyten 6.1 /nL\n")},
}

// reportEnv is a booted medrec with the people and patients the report
// tests need, made as the owner with SQL.
type reportEnv struct {
	*apiEnv
	patient, otherPatient string
	doctor                string // the doctor record of "clinician"
	tokens                map[string]string
}

func newReportEnv(t *testing.T) *reportEnv {
	t.Helper()
	ctx := context.Background()
	env := bootAPI(t, nil)
	e := &reportEnv{apiEnv: env, tokens: map[string]string{}}
	conn := env.ownerConn()
	users := map[string]string{}
	for name, role := range map[string]string{
		"clinician": "CLINICIAN", // author, in care
		"colleague": "CLINICIAN", // in care, has a doctor record, not the author
		"outsider":  "CLINICIAN", // has a doctor record, not in care
		"unlinked":  "CLINICIAN", // in care, no doctor record
		"retired":   "CLINICIAN", // in care, doctor record not ACTIVE
		"nurse":     "NURSE",     // in care
		"admin":     "ADMIN",
	} {
		users[name] = env.createUser(name+".reports@example.org", role)
	}
	for name, status := range map[string]string{"clinician": "ACTIVE", "colleague": "ACTIVE", "outsider": "ACTIVE", "retired": "RETIRED"} {
		var id string
		if err := conn.QueryRow(ctx, `INSERT INTO doctors (first_name, last_name, email, status, user_id)
			VALUES ('Dr', $1, $2, $3, $4) RETURNING id`, name, name+".doc@example.org", status, users[name]).Scan(&id); err != nil {
			t.Fatal(err)
		}
		if name == "clinician" {
			e.doctor = id
		}
	}
	for _, p := range []*string{&e.patient, &e.otherPatient} {
		if err := conn.QueryRow(ctx, `INSERT INTO patients (first_name, last_name, dob, gender)
			VALUES ('Ada', 'Patient', '1970-01-02', 'FEMALE') RETURNING id`).Scan(p); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"clinician", "colleague", "unlinked", "retired", "nurse"} {
		if _, err := conn.Exec(ctx, `INSERT INTO care_team (patient_id, user_id) VALUES ($1, $2)`, e.patient, users[name]); err != nil {
			t.Fatal(err)
		}
	}
	for name := range users {
		e.tokens[name] = env.login(name+".reports@example.org", fixturePassword).Access
	}
	return e
}

// reportFormPart is one part of an upload form.
type reportFormPart struct {
	name, filename, contentType string
	body                        []byte
}

// form builds a multipart/form-data body from parts, in order.
func multipartForm(t *testing.T, parts ...reportFormPart) ([]byte, string) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for _, p := range parts {
		h := textproto.MIMEHeader{}
		disp := map[string]string{"name": p.name}
		if p.filename != "" {
			disp["filename"] = p.filename
		}
		h.Set("Content-Disposition", mime.FormatMediaType("form-data", disp))
		if p.contentType != "" {
			h.Set("Content-Type", p.contentType)
		}
		pw, err := w.CreatePart(h)
		if err != nil {
			t.Fatal(err)
		}
		pw.Write(p.body)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), w.FormDataContentType()
}

// reportForm is a valid upload form for file, with its fields first.
func reportForm(t *testing.T, filename, contentType string, file []byte) ([]byte, string) {
	t.Helper()
	return multipartForm(t,
		reportFormPart{name: "title", body: []byte("Full blood count")},
		reportFormPart{name: "report_type", body: []byte("LAB")},
		reportFormPart{name: "report_date", body: []byte("2026-01-15")},
		reportFormPart{name: "summary", body: []byte("within normal limits")},
		reportFormPart{name: "file", filename: filename, contentType: contentType, body: file},
	)
}

// send makes one request with a raw body.
func (e *reportEnv) send(method, path, token, contentType string, body io.Reader, header map[string]string) response {
	e.t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, e.base+path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

func (e *reportEnv) upload(who, patient string, body []byte, contentType string) response {
	e.t.Helper()
	return e.send("POST", "/api/v1/patients/"+patient+"/reports", e.tokens[who], contentType, bytes.NewReader(body), nil)
}

// blobFiles lists every file (temporary ones too) under the data directory
// outside the PostgreSQL cluster: whatever an upload may have left.
func (e *reportEnv) blobFiles() []string {
	e.t.Helper()
	var out []string
	root := e.m.cfg.DataDir
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && p == filepath.Join(root, "postgres") {
			return filepath.SkipDir
		}
		if !d.IsDir() && !strings.HasSuffix(p, "jwt-signing-key.pem") {
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}

func (e *reportEnv) reportCount() int {
	e.t.Helper()
	var n int
	if err := e.ownerConn().QueryRow(context.Background(), `SELECT count(*) FROM medical_reports`).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

// uploadOK uploads a valid report file and returns the created report.
func (e *reportEnv) uploadOK(file []byte) medrec.Report {
	e.t.Helper()
	body, ct := reportForm(e.t, "scan.pdf", "application/pdf", file)
	r := e.upload("clinician", e.patient, body, ct)
	if r.status != http.StatusCreated {
		e.t.Fatalf("upload: %d %s", r.status, r.body)
	}
	var rep medrec.Report
	r.json(e.t, &rep)
	return rep
}

func TestReportUploadDownloadRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newReportEnv(t)
	blobRoot := e.m.blobs.Root()

	var ids []string
	for _, s := range reportSamples {
		t.Run(s.name, func(t *testing.T) {
			// The client's name and type are ignored: a hostile name never
			// reaches the filesystem, and the type comes from the bytes.
			body, ct := reportForm(t, "../../etc/passwd", "application/octet-stream", s.body)
			r := e.upload("clinician", e.patient, body, ct)
			if r.status != http.StatusCreated {
				t.Fatalf("upload: %d %s", r.status, r.body)
			}
			var rep medrec.Report
			r.json(t, &rep)
			ids = append(ids, rep.ID)
			if rep.Status != "PROCESSING" || rep.DoctorID != e.doctor || rep.PatientID != e.patient ||
				rep.Title != "Full blood count" || rep.ReportType != "LAB" || rep.ReportDate.Format(time.DateOnly) != "2026-01-15" ||
				rep.Summary == nil || *rep.Summary != "within normal limits" {
				t.Fatalf("created report = %s", r.body)
			}
			if r.header.Get("Location") != "/api/v1/reports/"+rep.ID || r.header.Get("ETag") == "" {
				t.Fatalf("Location %q, ETag %q", r.header.Get("Location"), r.header.Get("ETag"))
			}
			key, ok := strings.CutPrefix(rep.StorageURL, "local://")
			if !ok || len(key) != 32 || strings.ContainsAny(key, "./") {
				t.Fatalf("storage_url %q", rep.StorageURL)
			}
			stored, err := os.ReadFile(filepath.Join(blobRoot, key[:2], key))
			if err != nil || !bytes.Equal(stored, s.body) {
				t.Fatalf("stored file: %v", err)
			}
			var sha, ctype string
			var size int64
			if err := e.ownerConn().QueryRow(ctx, `SELECT file_sha256, file_size, file_content_type FROM medical_reports WHERE id = $1`, rep.ID).Scan(&sha, &size, &ctype); err != nil {
				t.Fatal(err)
			}
			if size != int64(len(s.body)) || ctype != s.contentType || len(sha) != 64 {
				t.Fatalf("row file columns: %s %d %s", sha, size, ctype)
			}

			for _, who := range []string{"clinician", "nurse"} {
				d := e.send("GET", "/api/v1/reports/"+rep.ID+"/file", e.tokens[who], "", nil, nil)
				if d.status != http.StatusOK || !bytes.Equal(d.body, s.body) {
					t.Fatalf("%s download: %d, %d bytes", who, d.status, len(d.body))
				}
				disp := d.header.Get("Content-Disposition")
				if d.header.Get("Content-Type") != s.contentType || d.header.Get("X-Content-Type-Options") != "nosniff" ||
					!strings.HasPrefix(disp, "attachment;") || strings.Contains(disp, "passwd") || strings.Contains(disp, "..") {
					t.Fatalf("download headers: %v", d.header)
				}
			}
		})
	}
	// Nothing was written outside the store.
	for _, p := range e.blobFiles() {
		if !strings.HasPrefix(p, blobRoot+string(filepath.Separator)) {
			t.Errorf("file outside the blob store: %s", p)
		}
	}
	if len(e.blobFiles()) != len(reportSamples) {
		t.Fatalf("blob files %v", e.blobFiles())
	}
	for _, p := range []string{filepath.Join(filepath.Dir(e.m.cfg.DataDir), "etc"), filepath.Join(e.m.cfg.DataDir, "etc")} {
		if _, err := os.Stat(p); err == nil {
			t.Fatalf("%s exists", p)
		}
	}

	t.Run("GetWithETag", func(t *testing.T) {
		r := e.call("GET", "/api/v1/reports/"+ids[0], e.tokens["nurse"], nil)
		if r.status != 200 || r.header.Get("ETag") == "" {
			t.Fatalf("get: %d %s", r.status, r.body)
		}
	})
	t.Run("List", func(t *testing.T) {
		seen := map[string]bool{}
		cursor := ""
		for page := 0; ; page++ {
			path := "/api/v1/patients/" + e.patient + "/reports?limit=2"
			if cursor != "" {
				path += "&cursor=" + cursor
			}
			r := e.call("GET", path, e.tokens["nurse"], nil)
			if r.status != 200 {
				t.Fatalf("list: %d %s", r.status, r.body)
			}
			var l struct {
				Items []medrec.Report `json:"items"`
				Next  *string         `json:"next_cursor"`
			}
			r.json(t, &l)
			for _, it := range l.Items {
				if seen[it.ID] {
					t.Fatalf("report %s on two pages", it.ID)
				}
				seen[it.ID] = true
			}
			if l.Next == nil {
				break
			}
			cursor = *l.Next
			if page > 5 {
				t.Fatal("pagination does not end")
			}
		}
		if len(seen) != len(reportSamples) {
			t.Fatalf("listed %d reports, want %d", len(seen), len(reportSamples))
		}
		for query, want := range map[string]int{
			"report_type=LAB":                   5,
			"report_type=IMAGING":               0,
			"status=PROCESSING":                 5,
			"status=COMPLETED":                  0,
			"from=2026-01-15&to=2026-01-15":     5,
			"from=2026-01-16":                   0,
			"to=2026-01-14":                     0,
			"report_type=LAB&status=PROCESSING": 5,
		} {
			r := e.call("GET", "/api/v1/patients/"+e.patient+"/reports?"+query, e.tokens["clinician"], nil)
			var l struct {
				Items []medrec.Report `json:"items"`
			}
			r.json(t, &l)
			if r.status != 200 || len(l.Items) != want {
				t.Errorf("%s: %d, %d items, want %d", query, r.status, len(l.Items), want)
			}
		}
		for _, query := range []string{"report_type=XRAY", "status=DONE", "from=yesterday", "cursor=garbage", "limit=201"} {
			if r := e.call("GET", "/api/v1/patients/"+e.patient+"/reports?"+query, e.tokens["clinician"], nil); r.status != 400 {
				t.Errorf("%s: %d, want 400", query, r.status)
			}
		}
		if r := e.call("GET", "/api/v1/patients/"+e.patient+"/reports", e.tokens["outsider"], nil); r.status != 404 {
			t.Errorf("outsider lists: %d, want 404", r.status)
		}
		if r := e.call("GET", "/api/v1/reports/"+ids[0], e.tokens["outsider"], nil); r.status != 404 {
			t.Errorf("outsider reads: %d, want 404", r.status)
		}
		if r := e.call("GET", "/api/v1/reports/"+ids[0]+"/file", e.tokens["outsider"], nil); r.status != 404 {
			t.Errorf("outsider downloads: %d, want 404", r.status)
		}
		if r := e.call("GET", "/api/v1/reports/"+ids[0]+"/file", e.tokens["admin"], nil); r.status != 403 {
			t.Errorf("admin downloads: %d, want 403", r.status)
		}
	})
	t.Run("ReadsAreAudited", func(t *testing.T) {
		var n int
		if err := e.ownerConn().QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE action = 'READ' AND table_name = 'medical_reports'
			AND record_id = $1 AND patient_id = $2 AND new_values->>'what' = 'report_file' AND user_id IS NOT NULL`, ids[0], e.patient).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 2 { // the clinician's and the nurse's download
			t.Fatalf("report_file READ rows = %d, want 2", n)
		}
		if err := e.ownerConn().QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE action = 'READ' AND record_id = $1
			AND new_values->>'what' = 'report'`, ids[0]).Scan(&n); err != nil || n < 1 {
			t.Fatalf("report READ rows = %d, %v", n, err)
		}
		if err := e.ownerConn().QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE action = 'READ' AND record_id = $1
			AND new_values->>'what' = 'report_list'`, e.patient).Scan(&n); err != nil || n < 3 {
			t.Fatalf("report_list READ rows = %d, %v", n, err)
		}
		// Refused reads leave no READ row behind.
		var outsider int
		if err := e.ownerConn().QueryRow(ctx, `SELECT count(*) FROM audit_log a JOIN users u ON u.id = a.user_id
			WHERE a.action = 'READ' AND u.email = 'outsider.reports@example.org'`).Scan(&outsider); err != nil || outsider != 0 {
			t.Fatalf("outsider READ rows = %d, %v", outsider, err)
		}
	})
}

func TestReportUploadRefusalsLeaveNothing(t *testing.T) {
	t.Parallel()
	e := newReportEnv(t)
	pdf := reportSamples[0].body
	future := time.Now().UTC().AddDate(0, 0, 3).Format(time.DateOnly)
	fields := func(title, typ, date string) []reportFormPart {
		var ps []reportFormPart
		for _, f := range [][2]string{{"title", title}, {"report_type", typ}, {"report_date", date}} {
			if f[1] != "" {
				ps = append(ps, reportFormPart{name: f[0], body: []byte(f[1])})
			}
		}
		return ps
	}
	withFile := func(ps []reportFormPart, file []byte, ct string) []reportFormPart {
		return append(ps, reportFormPart{name: "file", filename: "x", contentType: ct, body: file})
	}
	big := append(append([]byte{}, pdf...), make([]byte, medrec.DefaultReportMaxBytes)...)

	for _, c := range []struct {
		name       string
		who        string
		patient    string
		parts      []reportFormPart
		raw        []byte // sent instead of a form
		rawType    string
		want       int
		wantFields []string
	}{
		{name: "ZIP", parts: withFile(fields("t", "LAB", "2026-01-01"), []byte("PK\x03\x04\x14\x00\x00\x00\x08\x00"), "application/pdf"), want: 415},
		{name: "ELF", parts: withFile(fields("t", "LAB", "2026-01-01"), []byte("\x7fELF\x02\x01\x01\x00\x00\x00"), "application/pdf"), want: 415},
		{name: "HTMLClaimingPDF", parts: withFile(fields("t", "LAB", "2026-01-01"), []byte("<!DOCTYPE html><html><body><script>alert(1)</script></body></html>"), "application/pdf"), want: 415},
		{name: "Oversized", parts: withFile(fields("t", "LAB", "2026-01-01"), big, "application/pdf"), want: 413},
		{name: "EmptyFile", parts: withFile(fields("t", "LAB", "2026-01-01"), nil, "application/pdf"), want: 400, wantFields: []string{"file"}},
		{name: "MissingFields", parts: withFile(nil, pdf, "application/pdf"), want: 400, wantFields: []string{"title", "report_type", "report_date"}},
		{name: "BadTypeAndFutureDate", parts: withFile(fields("t", "XRAY", future), pdf, "application/pdf"), want: 400, wantFields: []string{"report_type", "report_date"}},
		{name: "BadDate", parts: withFile(fields("t", "LAB", "15.01.2026"), pdf, "application/pdf"), want: 400, wantFields: []string{"report_date"}},
		{name: "NoFile", parts: fields("t", "LAB", "2026-01-01"), want: 400, wantFields: []string{"file"}},
		{name: "FieldAfterFile", parts: append(withFile(fields("t", "LAB", "2026-01-01"), pdf, ""), reportFormPart{name: "summary", body: []byte("late")}), want: 400, wantFields: []string{"file"}},
		{name: "UnknownField", parts: withFile(append(fields("t", "LAB", "2026-01-01"), reportFormPart{name: "doctor_id", body: []byte("x")}), pdf, ""), want: 400, wantFields: []string{"doctor_id"}},
		{name: "NotInCare", who: "outsider", parts: withFile(fields("t", "LAB", "2026-01-01"), pdf, ""), want: 404},
		{name: "OtherPatient", patient: "other", parts: withFile(fields("t", "LAB", "2026-01-01"), pdf, ""), want: 404},
		{name: "MissingPatient", patient: missingID, parts: withFile(fields("t", "LAB", "2026-01-01"), pdf, ""), want: 404},
		{name: "NoDoctorRecord", who: "unlinked", parts: withFile(fields("t", "LAB", "2026-01-01"), pdf, ""), want: 403},
		{name: "DoctorNotActive", who: "retired", parts: withFile(fields("t", "LAB", "2026-01-01"), pdf, ""), want: 403},
		{name: "Nurse", who: "nurse", parts: withFile(fields("t", "LAB", "2026-01-01"), pdf, ""), want: 403},
		{name: "Admin", who: "admin", parts: withFile(fields("t", "LAB", "2026-01-01"), pdf, ""), want: 403},
		{name: "JSONBody", raw: []byte(`{"title":"t"}`), rawType: "application/json", want: 415},
		{name: "NotMultipartAtAll", raw: pdf, rawType: "application/pdf", want: 415},
		{name: "MalformedMultipart", raw: []byte("garbage without boundaries"), rawType: "multipart/form-data; boundary=xyz", want: 400},
	} {
		t.Run(c.name, func(t *testing.T) {
			who, patient := c.who, c.patient
			if who == "" {
				who = "clinician"
			}
			switch patient {
			case "":
				patient = e.patient
			case "other":
				patient = e.otherPatient
			}
			body, ct := c.raw, c.rawType
			if c.raw == nil {
				body, ct = multipartForm(t, c.parts...)
			}
			r := e.upload(who, patient, body, ct)
			if r.status != c.want {
				t.Fatalf("status %d, want %d: %s", r.status, c.want, r.body)
			}
			if r.header.Get("Content-Type") != "application/problem+json" {
				t.Fatalf("content type %q", r.header.Get("Content-Type"))
			}
			if len(c.wantFields) > 0 {
				var p struct {
					Errors []medrec.FieldError `json:"errors"`
				}
				r.json(t, &p)
				got := map[string]bool{}
				for _, f := range p.Errors {
					got[f.Field] = true
				}
				for _, f := range c.wantFields {
					if !got[f] {
						t.Errorf("no error for field %s: %s", f, r.body)
					}
				}
			}
			if n := e.reportCount(); n != 0 {
				t.Fatalf("%d report rows exist", n)
			}
			if left := e.blobFiles(); len(left) != 0 {
				t.Fatalf("files left behind: %v", left)
			}
		})
	}
}

// TestReportUploadCutShort sends bodies that stop in the middle of the file
// over a raw connection: the upload fails with a 4xx (when anyone is left
// to hear it), and neither a row nor a file, whole or partial, remains.
func TestReportUploadCutShort(t *testing.T) {
	t.Parallel()
	e := newReportEnv(t)
	body, ct := reportForm(t, "a.pdf", "application/pdf", append([]byte("%PDF-1.7\n"), bytes.Repeat([]byte("stream data "), 20000)...))

	rawRequest := func(sent []byte) []byte {
		head := fmt.Sprintf("POST /api/v1/patients/%s/reports HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n",
			e.patient, e.tokens["clinician"], ct, len(body))
		return append([]byte(head), sent...)
	}

	t.Run("HalfClosed", func(t *testing.T) {
		conn, err := net.Dial("tcp", e.m.Addr())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if _, err := conn.Write(rawRequest(body[:len(body)/2])); err != nil {
			t.Fatal(err)
		}
		conn.(*net.TCPConn).CloseWrite()
		conn.SetReadDeadline(time.Now().Add(30 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("no response: %v", err)
		}
		resp.Body.Close()
		if resp.StatusCode < 400 || resp.StatusCode >= 500 {
			t.Fatalf("status %d, want 4xx", resp.StatusCode)
		}
		if n := e.reportCount(); n != 0 {
			t.Fatalf("%d report rows", n)
		}
		if left := e.blobFiles(); len(left) != 0 {
			t.Fatalf("files left: %v", left)
		}
	})
	t.Run("ClientGone", func(t *testing.T) {
		const logged = `"route":"/api/v1/patients/{id}/reports"`
		before := strings.Count(e.logs.String(), logged)
		conn, err := net.Dial("tcp", e.m.Addr())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Write(rawRequest(body[:len(body)*3/4])); err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond) // let the server start writing the file
		conn.Close()
		// The handler notices on its next read; wait for it to clean up.
		deadline := time.Now().Add(10 * time.Second)
		for {
			if len(e.blobFiles()) == 0 && e.reportCount() == 0 && strings.Count(e.logs.String(), logged) > before {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("after the client left: files %v, rows %d", e.blobFiles(), e.reportCount())
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
	t.Run("ReaderFails", func(t *testing.T) {
		// A body that errors mid-file through the ordinary client.
		pr, pw := io.Pipe()
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			pw.Write(body[:len(body)/2])
			pw.CloseWithError(io.ErrUnexpectedEOF)
		}()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "POST", e.base+"/api/v1/patients/"+e.patient+"/reports", pr)
		req.Header.Set("Content-Type", ct)
		req.Header.Set("Authorization", "Bearer "+e.tokens["clinician"])
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode < 400 || resp.StatusCode >= 500 {
				t.Fatalf("status %d, want 4xx", resp.StatusCode)
			}
		}
		wg.Wait()
		deadline := time.Now().Add(10 * time.Second)
		for len(e.blobFiles()) != 0 || e.reportCount() != 0 {
			if time.Now().After(deadline) {
				t.Fatalf("files %v, rows %d", e.blobFiles(), e.reportCount())
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
	// The same body sent whole is accepted: the refusals above were the cut.
	if r := e.upload("clinician", e.patient, body, ct); r.status != http.StatusCreated {
		t.Fatalf("whole body: %d %s", r.status, r.body)
	}
}

func TestReportFileIntegrity(t *testing.T) {
	t.Parallel()
	e := newReportEnv(t)
	file := reportSamples[0].body
	path := func(rep medrec.Report) string {
		key := strings.TrimPrefix(rep.StorageURL, "local://")
		return filepath.Join(e.m.blobs.Root(), key[:2], key)
	}
	refused := func(t *testing.T, rep medrec.Report, why string) {
		t.Helper()
		r := e.call("GET", "/api/v1/reports/"+rep.ID+"/file", e.tokens["clinician"], nil)
		if r.status != http.StatusInternalServerError || r.header.Get("Content-Type") != "application/problem+json" ||
			bytes.Contains(r.body, []byte("%PDF")) {
			t.Fatalf("%s: %d %q %s", why, r.status, r.header.Get("Content-Type"), r.body)
		}
		if !strings.Contains(e.logs.String(), "integrity failure") {
			t.Fatalf("%s: no integrity failure in the log", why)
		}
	}

	t.Run("FlippedByte", func(t *testing.T) {
		rep := e.uploadOK(file)
		bad := append([]byte{}, file...)
		bad[len(bad)-3] ^= 0x20
		if err := os.WriteFile(path(rep), bad, 0o600); err != nil {
			t.Fatal(err)
		}
		refused(t, rep, "same size, other bytes")
	})
	t.Run("Truncated", func(t *testing.T) {
		rep := e.uploadOK(file)
		if err := os.Truncate(path(rep), 10); err != nil {
			t.Fatal(err)
		}
		refused(t, rep, "truncated")
	})
	t.Run("Missing", func(t *testing.T) {
		rep := e.uploadOK(file)
		if err := os.Remove(path(rep)); err != nil {
			t.Fatal(err)
		}
		refused(t, rep, "missing")
	})
	t.Run("IntactStillServed", func(t *testing.T) {
		rep := e.uploadOK(file)
		r := e.call("GET", "/api/v1/reports/"+rep.ID+"/file", e.tokens["clinician"], nil)
		if r.status != 200 || !bytes.Equal(r.body, file) {
			t.Fatalf("intact file: %d", r.status)
		}
	})
}

func TestReportUpdate(t *testing.T) {
	t.Parallel()
	e := newReportEnv(t)
	rep := e.uploadOK(reportSamples[4].body)
	path := "/api/v1/reports/" + rep.ID
	patch := func(who string, body any, ifMatch string) response {
		t.Helper()
		h := map[string]string{}
		if ifMatch != "" {
			h["If-Match"] = ifMatch
		}
		b, _ := json.Marshal(body)
		return e.send("PATCH", path, e.tokens[who], "application/json", bytes.NewReader(b), h)
	}
	status := func() string {
		var s string
		if err := e.ownerConn().QueryRow(context.Background(), `SELECT status FROM medical_reports WHERE id = $1`, rep.ID).Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}

	etag := e.call("GET", path, e.tokens["clinician"], nil).header.Get("ETag")
	r := patch("clinician", map[string]string{"status": "COMPLETED", "title": "FBC (final)"}, etag)
	if r.status != 200 || r.header.Get("ETag") == "" || r.header.Get("ETag") == etag {
		t.Fatalf("forward move: %d %s", r.status, r.body)
	}
	var got medrec.Report
	r.json(t, &got)
	if got.Status != "COMPLETED" || got.Title != "FBC (final)" {
		t.Fatalf("updated: %s", r.body)
	}
	if r := patch("clinician", map[string]string{"status": "REVIEWED"}, etag); r.status != http.StatusPreconditionFailed {
		t.Fatalf("stale If-Match: %d %s", r.status, r.body)
	}
	for _, back := range []string{"PROCESSING", "COMPLETED"} {
		if r := patch("clinician", map[string]string{"status": back}, ""); r.status != http.StatusConflict {
			t.Fatalf("COMPLETED → %s: %d %s", back, r.status, r.body)
		}
	}
	if r := patch("clinician", map[string]string{"status": "DONE"}, ""); r.status != 400 {
		t.Fatalf("unknown status: %d", r.status)
	}
	if r := patch("clinician", map[string]string{"title": " "}, ""); r.status != 400 {
		t.Fatalf("blank title: %d", r.status)
	}
	if r := patch("clinician", map[string]string{"storage_url": "local://x"}, ""); r.status != 400 {
		t.Fatalf("storage_url is not patchable: %d", r.status)
	}
	for who, want := range map[string]int{"colleague": 403, "unlinked": 403, "outsider": 404, "nurse": 403, "admin": 403} {
		if r := patch(who, map[string]string{"status": "REVIEWED"}, ""); r.status != want {
			t.Errorf("%s: %d, want %d: %s", who, r.status, want, r.body)
		}
	}
	if s := status(); s != "COMPLETED" {
		t.Fatalf("status after refusals = %s", s)
	}
	// Skipping ahead is a forward move; nothing comes after ARCHIVED.
	if r := patch("clinician", map[string]string{"status": "ARCHIVED", "summary": ""}, ""); r.status != 200 {
		t.Fatalf("skip to ARCHIVED: %d %s", r.status, r.body)
	}
	if r := patch("clinician", map[string]string{"status": "ARCHIVED"}, ""); r.status != 409 {
		t.Fatalf("ARCHIVED → ARCHIVED: %d", r.status)
	}
	var summary *string
	if err := e.ownerConn().QueryRow(context.Background(), `SELECT summary FROM medical_reports WHERE id = $1`, rep.ID).Scan(&summary); err != nil || summary != nil {
		t.Fatalf("an empty summary clears it: %v %v", summary, err)
	}
	if r := e.call("PATCH", "/api/v1/reports/"+missingID, e.tokens["clinician"], map[string]string{"title": "x"}); r.status != 404 {
		t.Fatalf("missing report: %d", r.status)
	}
}

// authzReports are the records the authorization table's report rows act
// on, made once per fixture: a patient in the care of the fixture's
// CLINICIAN and NURSE ("own") and one in nobody's ("other"), each with a
// report, with a real file, by a doctor record that belongs to no user.
type authzReports struct {
	inCare, outOfCare             string // patients
	inCareReport, outOfCareReport string
}

var authzReportsOf sync.Map // *authzFixture → *authzReports

func (f *authzFixture) reports() *authzReports {
	if v, ok := authzReportsOf.Load(f); ok {
		return v.(*authzReports)
	}
	t, ctx, conn := f.env.t, context.Background(), f.env.ownerConn()
	rs := &authzReports{}
	var doctor string
	if err := conn.QueryRow(ctx, `INSERT INTO doctors (first_name, last_name, email)
		VALUES ('Report', 'Author', 'authz.report.author@example.org') RETURNING id`).Scan(&doctor); err != nil {
		t.Fatal(err)
	}
	for _, p := range []struct{ patient, report *string }{{&rs.inCare, &rs.inCareReport}, {&rs.outOfCare, &rs.outOfCareReport}} {
		if err := conn.QueryRow(ctx, `INSERT INTO patients (first_name, last_name, dob, gender)
			VALUES ('Rep', 'Ort', '1975-05-06', 'MALE') RETURNING id`).Scan(p.patient); err != nil {
			t.Fatal(err)
		}
		ref, err := f.env.m.blobs.Put(ctx, bytes.NewReader(reportSamples[0].body), 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		if err := conn.QueryRow(ctx, `INSERT INTO medical_reports (patient_id, doctor_id, title, report_type, storage_url,
				report_date, file_sha256, file_size, file_content_type)
			VALUES ($1, $2, 'Lipid panel', 'LAB', $3, '2026-01-10', $4, $5, $6) RETURNING id`,
			*p.patient, doctor, f.env.m.blobs.URL(ref.Key), ref.SHA256, ref.Size, ref.ContentType).Scan(p.report); err != nil {
			t.Fatal(err)
		}
	}
	for _, role := range []string{"CLINICIAN", "NURSE"} {
		if _, err := conn.Exec(ctx, `INSERT INTO care_team (patient_id, user_id) VALUES ($1, $2)`, rs.inCare, f.ids[role]); err != nil {
			t.Fatal(err)
		}
	}
	authzReportsOf.Store(f, rs)
	return rs
}
