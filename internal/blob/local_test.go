package blob_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"medrec"
	"medrec/internal/blob"
)

func newStore(t *testing.T) *blob.Local {
	t.Helper()
	s, err := blob.NewLocal(filepath.Join(t.TempDir(), "reports"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// files lists every regular file under dir.
func files(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

var samples = map[string]struct {
	body []byte
	want string
}{
	"PDF":           {[]byte("%PDF-1.7\n1 0 obj\n<<>>\nendobj\n%%EOF\n"), "application/pdf"},
	"PNG":           {append([]byte("\x89PNG\r\n\x1a\n"), make([]byte, 40)...), "image/png"},
	"JPEG":          {append([]byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00"), make([]byte, 40)...), "image/jpeg"},
	"TIFF":          {append([]byte("II*\x00\x08\x00\x00\x00"), make([]byte, 40)...), "image/tiff"},
	"TIFFBigEndian": {append([]byte("MM\x00*\x00\x00\x00\x08"), make([]byte, 40)...), "image/tiff"},
	"Text":          {[]byte("Hämoglobin 14.2 g/dL — normal\n"), "text/plain; charset=utf-8"},
}

func TestPutDetectsTypeAndRoundTrips(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	for name, c := range samples {
		t.Run(name, func(t *testing.T) {
			// One byte per read: detection must not depend on chunking.
			ref, err := s.Put(ctx, iotest.OneByteReader(bytes.NewReader(c.body)), 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(c.body)
			if ref.ContentType != c.want || ref.Size != int64(len(c.body)) || ref.SHA256 != hex.EncodeToString(sum[:]) {
				t.Fatalf("ref = %+v", ref)
			}
			rc, err := s.Open(ctx, ref.Key)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(rc)
			rc.Close()
			if !bytes.Equal(got, c.body) {
				t.Fatal("stored bytes differ")
			}
			info, err := os.Stat(filepath.Join(s.Root(), ref.Key[:2], ref.Key))
			if err != nil || info.Mode().Perm() != 0o600 {
				t.Fatalf("file mode %v, %v", info.Mode(), err)
			}
			dirInfo, _ := os.Stat(filepath.Join(s.Root(), ref.Key[:2]))
			if dirInfo.Mode().Perm() != 0o700 {
				t.Fatalf("dir mode %v", dirInfo.Mode())
			}
			key, err := s.KeyFromURL(s.URL(ref.Key))
			if err != nil || key != ref.Key || !strings.HasPrefix(s.URL(key), "local://") {
				t.Fatalf("URL round trip: %q %v", key, err)
			}
		})
	}
}

func TestPutRefusesAndLeavesNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	// A UTF-8 rune split over two reads is still text; a broken one is not.
	split := io.MultiReader(bytes.NewReader([]byte("ab\xc3")), bytes.NewReader([]byte("\xa4cd")))
	if ref, err := newStore(t).Put(ctx, split, 100); err != nil || ref.ContentType != "text/plain; charset=utf-8" {
		t.Fatalf("split rune: %+v %v", ref, err)
	}
	for name, c := range map[string]struct {
		r    io.Reader
		code string
	}{
		"ZIP":              {strings.NewReader("PK\x03\x04\x14\x00\x00\x00rest"), medrec.EUNSUPPORTED},
		"ELF":              {strings.NewReader("\x7fELF\x02\x01\x01\x00"), medrec.EUNSUPPORTED},
		"HTML":             {strings.NewReader("<!DOCTYPE html><html><script>alert(1)</script></html>"), medrec.EUNSUPPORTED},
		"SVG":              {strings.NewReader("  <svg xmlns='http://www.w3.org/2000/svg'></svg>"), medrec.EUNSUPPORTED},
		"TextWithNUL":      {strings.NewReader("plain\x00text"), medrec.EUNSUPPORTED},
		"BadUTF8":          {strings.NewReader("plain \xff text"), medrec.EUNSUPPORTED},
		"TruncatedRune":    {strings.NewReader("plain \xe2\x82"), medrec.EUNSUPPORTED},
		"Empty":            {strings.NewReader(""), medrec.EINVALID},
		"TooLarge":         {bytes.NewReader(append([]byte("%PDF-"), make([]byte, 200)...)), medrec.ETOOLARGE},
		"ReaderFails":      {io.MultiReader(strings.NewReader("%PDF-1.7 partial"), iotest.ErrReader(io.ErrUnexpectedEOF)), medrec.EINVALID},
		"ReaderFailsCoded": {io.MultiReader(strings.NewReader("%PDF-1.7"), iotest.ErrReader(medrec.Errorf(medrec.ETOOLARGE, "body"))), medrec.ETOOLARGE},
	} {
		t.Run(name, func(t *testing.T) {
			s := newStore(t)
			_, err := s.Put(ctx, c.r, 100)
			if medrec.ErrorCode(err) != c.code {
				t.Fatalf("err = %v, want code %s", err, c.code)
			}
			if left := files(t, s.Root()); len(left) != 0 {
				t.Fatalf("files left behind: %v", left)
			}
		})
	}
	t.Run("Cancelled", func(t *testing.T) {
		s := newStore(t)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := s.Put(cctx, strings.NewReader("%PDF-1.7"), 100); err == nil {
			t.Fatal("put with a cancelled context succeeded")
		}
		if left := files(t, s.Root()); len(left) != 0 {
			t.Fatalf("files left behind: %v", left)
		}
	})
}

func TestKeysAreValidated(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	outside := filepath.Join(filepath.Dir(s.Root()), "secret")
	if err := os.WriteFile(outside, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"", "../secret", "../../etc/passwd", "/etc/passwd", "ab/../../secret",
		strings.Repeat("A", 32), strings.Repeat("a", 31) + "/", strings.Repeat("a", 33)} {
		if _, err := s.Open(ctx, key); medrec.ErrorCode(err) != medrec.ENOTFOUND {
			t.Errorf("Open(%q) = %v, want ENOTFOUND", key, err)
		}
		if err := s.Delete(ctx, key); medrec.ErrorCode(err) != medrec.EINVALID {
			t.Errorf("Delete(%q) = %v, want EINVALID", key, err)
		}
		if _, err := s.KeyFromURL("local://" + key); err == nil {
			t.Errorf("KeyFromURL accepted %q", key)
		}
	}
	if _, err := os.Stat(outside); err != nil {
		t.Fatalf("a file outside the store was touched: %v", err)
	}
	if _, err := s.Open(ctx, strings.Repeat("a", 32)); medrec.ErrorCode(err) != medrec.ENOTFOUND {
		t.Fatalf("missing key: %v", err)
	}
	if err := s.Delete(ctx, strings.Repeat("a", 32)); err != nil {
		t.Fatalf("deleting a missing file: %v", err)
	}
}

func TestDeleteReportFiles(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	var urls []string
	for range 3 {
		ref, err := s.Put(ctx, strings.NewReader("%PDF-1.4"), 100)
		if err != nil {
			t.Fatal(err)
		}
		urls = append(urls, s.URL(ref.Key))
	}
	err := medrec.DeleteReportFiles(ctx, s, append(urls, "s3://elsewhere/x"))
	if err == nil || !strings.Contains(err.Error(), "s3://elsewhere/x") {
		t.Fatalf("a foreign URL was not reported: %v", err)
	}
	if left := files(t, s.Root()); len(left) != 0 {
		t.Fatalf("files left: %v", left)
	}
	if err := medrec.DeleteReportFiles(ctx, s, urls); err != nil {
		t.Fatalf("deleting again: %v", err)
	}
}
