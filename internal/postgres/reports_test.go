package postgres_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"medrec"
	"medrec/internal/pgtest"
	"medrec/internal/postgres"
)

// memBlobs is a BlobStore in memory whose readers cannot seek, with a hook
// that runs when a Put has stored its file.
type memBlobs struct {
	mu       sync.Mutex
	files    map[string][]byte
	deleted  []string
	afterPut func()
}

func (m *memBlobs) Put(ctx context.Context, r io.Reader, maxBytes int64) (medrec.BlobRef, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return medrec.BlobRef{}, err
	}
	m.mu.Lock()
	key := strings.Repeat("a", 31) + string(rune('0'+len(m.files)))
	m.files[key] = b
	m.mu.Unlock()
	if m.afterPut != nil {
		m.afterPut()
	}
	sum := sha256.Sum256(b)
	return medrec.BlobRef{Key: key, SHA256: hex.EncodeToString(sum[:]), Size: int64(len(b)), ContentType: "application/pdf"}, nil
}

func (m *memBlobs) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.files[key]
	if !ok {
		return nil, medrec.Errorf(medrec.ENOTFOUND, "no file")
	}
	return io.NopCloser(bytes.NewReader(b)), nil // not an io.Seeker
}

func (m *memBlobs) Delete(ctx context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.files, key)
	m.deleted = append(m.deleted, key)
	return nil
}

func (m *memBlobs) URL(key string) string { return "mem://" + key }

func (m *memBlobs) KeyFromURL(url string) (string, error) {
	key, ok := strings.CutPrefix(url, "mem://")
	if !ok {
		return "", medrec.Errorf(medrec.EINVALID, "not mine")
	}
	return key, nil
}

const (
	repUser    = "b1b1b1b1-0000-4000-8000-000000000001"
	repDoctor  = "c1c1c1c1-0000-4000-8000-000000000001"
	repPatient = "f1f1f1f1-0000-4000-8000-000000000001"
)

func setupReports(t *testing.T) (*postgres.ReportService, *memBlobs, context.Context, func(sql string)) {
	t.Helper()
	ctx := context.Background()
	db := pgtest.New(t)
	owner := pgtest.Conn(t, db.OwnerURL)
	exec := func(sql string) {
		t.Helper()
		if _, err := owner.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	exec(`INSERT INTO users (id, email, password_hash, role) VALUES ('` + repUser + `', 'rep@example.org', 'x', 'CLINICIAN');
		INSERT INTO doctors (id, first_name, last_name, email, user_id) VALUES ('` + repDoctor + `', 'R', 'Ep', 'rep.doc@example.org', '` + repUser + `');
		INSERT INTO patients (id, first_name, last_name, dob, gender) VALUES ('` + repPatient + `', 'P', 'At', '1960-01-01', 'MALE');
		INSERT INTO care_team (patient_id, user_id) VALUES ('` + repPatient + `', '` + repUser + `');`)
	pool, err := postgres.Open(ctx, db.AppURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	blobs := &memBlobs{files: map[string][]byte{}}
	svc := postgres.NewReportService(pool, postgres.ReportConfig{Blobs: blobs, Now: func() time.Time { return time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC) }})
	caller := medrec.NewContextWithCaller(ctx, &medrec.Caller{UserID: repUser, Role: medrec.RoleClinician, DoctorID: repDoctor})
	return svc, blobs, caller, exec
}

var repNew = medrec.NewReport{PatientID: repPatient, Title: "ECG", ReportType: "CONSULTATION", ReportDate: "2026-05-30"}

func TestCreateReportDeletesTheFileWhenTheRowCannotBeWritten(t *testing.T) {
	t.Parallel()
	svc, blobs, ctx, exec := setupReports(t)
	// The clinician leaves the care team while the file is uploading: the
	// insert is refused, and the file must not outlive it.
	blobs.afterPut = func() { exec(`UPDATE care_team SET until = now() WHERE user_id = '` + repUser + `'`) }
	_, err := svc.CreateReport(ctx, repNew, strings.NewReader("%PDF-1.7 body"))
	if medrec.ErrorCode(err) != medrec.ENOTFOUND {
		t.Fatalf("err = %v, want ENOTFOUND", err)
	}
	if len(blobs.files) != 0 || len(blobs.deleted) != 1 {
		t.Fatalf("files %v, deleted %v", blobs.files, blobs.deleted)
	}
}

func TestOpenReportFileChecksAReaderThatCannotSeek(t *testing.T) {
	t.Parallel()
	svc, blobs, ctx, _ := setupReports(t)
	rep, err := svc.CreateReport(ctx, repNew, strings.NewReader("%PDF-1.7 body"))
	if err != nil {
		t.Fatal(err)
	}
	f, err := svc.OpenReportFile(ctx, rep.ID)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(f.Body)
	f.Body.Close()
	if string(got) != "%PDF-1.7 body" || f.ContentType != "application/pdf" || !strings.HasSuffix(f.Filename, ".pdf") {
		t.Fatalf("file %q %+v", got, f)
	}
	key, _ := blobs.KeyFromURL(rep.StorageURL)
	blobs.files[key] = []byte("%PDF-1.7 BODY")
	if _, err := svc.OpenReportFile(ctx, rep.ID); medrec.ErrorCode(err) != medrec.EINTERNAL || !strings.Contains(err.Error(), "integrity") {
		t.Fatalf("corrupted file: %v", err)
	}
}
