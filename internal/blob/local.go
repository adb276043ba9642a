// Package blob stores report files in a local directory, behind the
// medrec.BlobStore interface (an S3-compatible store can follow behind the
// same interface).
//
// Layout: <root>/<k0k1>/<key>, where key is 32 lowercase hex characters
// (128 random bits) made by the server and k0k1 its first two characters.
// No client-supplied name ever reaches the filesystem. A file is written
// to a temporary file (".tmp-*") in its final directory, synced, and
// renamed into place, so a reader never sees half a file. Files are 0600,
// directories 0700. The storage_url of a file is "local://<key>".
package blob

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"

	"medrec"
)

// URLScheme prefixes the storage_url of every file in a local store.
const URLScheme = "local://"

// Local is a medrec.BlobStore on a local directory.
type Local struct {
	root string
}

var _ medrec.BlobStore = (*Local)(nil)

// NewLocal opens (creating it, mode 0700) the store rooted at dir.
func NewLocal(dir string) (*Local, error) {
	if dir == "" {
		return nil, errors.New("blob store: no directory")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("blob store %s: %w", dir, err)
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return nil, fmt.Errorf("blob store %s: %w", dir, err)
	}
	return &Local{root: abs}, nil
}

// Root is the store's directory.
func (s *Local) Root() string { return s.root }

// validKey reports whether key is one this store could have made.
func validKey(key string) bool {
	if len(key) != 32 {
		return false
	}
	for _, c := range key {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

func (s *Local) path(key string) string {
	return filepath.Join(s.root, key[:2], key)
}

func newKey() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}

// URL is the storage_url of key.
func (s *Local) URL(key string) string { return URLScheme + key }

// KeyFromURL returns the key of a storage_url made by URL.
func (s *Local) KeyFromURL(url string) (string, error) {
	key, ok := strings.CutPrefix(url, URLScheme)
	if !ok || !validKey(key) {
		return "", medrec.Errorf(medrec.EINVALID, "not a storage URL of the local blob store")
	}
	return key, nil
}

// Put stores r under a new key. See medrec.BlobStore.
func (s *Local) Put(ctx context.Context, r io.Reader, maxBytes int64) (ref medrec.BlobRef, err error) {
	if maxBytes <= 0 {
		return medrec.BlobRef{}, fmt.Errorf("blob put: maxBytes %d", maxBytes)
	}
	key := newKey()
	dir := filepath.Join(s.root, key[:2])
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return medrec.BlobRef{}, fmt.Errorf("blob put: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return medrec.BlobRef{}, fmt.Errorf("blob put: %w", err)
	}
	// Whatever goes wrong below, the temporary file goes with it.
	renamed := false
	defer func() {
		if !renamed {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if err := tmp.Chmod(0o600); err != nil {
		return medrec.BlobRef{}, fmt.Errorf("blob put: %w", err)
	}

	h := sha256.New()
	sniff := newSniffer()
	w := io.MultiWriter(tmp, h, sniff)
	size, err := copyLimited(ctx, w, r, maxBytes)
	if err != nil {
		return medrec.BlobRef{}, err
	}
	if size == 0 {
		return medrec.BlobRef{}, medrec.Invalid(medrec.FieldError{Field: "file", Message: "must not be empty"})
	}
	contentType, ok := sniff.result()
	if !ok {
		return medrec.BlobRef{}, medrec.Errorf(medrec.EUNSUPPORTED,
			"the file must be a PDF, PNG, JPEG or TIFF image, or plain UTF-8 text")
	}
	if err := tmp.Sync(); err != nil {
		return medrec.BlobRef{}, fmt.Errorf("blob put: sync: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return medrec.BlobRef{}, fmt.Errorf("blob put: close: %w", err)
	}
	final := s.path(key)
	if err := os.Rename(tmp.Name(), final); err != nil {
		return medrec.BlobRef{}, fmt.Errorf("blob put: rename: %w", err)
	}
	renamed = true
	// The rename is durable only once the directory is synced; if that
	// fails, the caller cannot rely on the file, so it goes.
	if err := syncDir(dir); err != nil {
		_ = os.Remove(final)
		return medrec.BlobRef{}, fmt.Errorf("blob put: sync dir: %w", err)
	}
	return medrec.BlobRef{Key: key, SHA256: hex.EncodeToString(h.Sum(nil)), Size: size, ContentType: contentType}, nil
}

// copyLimited copies src to dst, failing with ETOOLARGE once more than
// limit bytes arrive, and stopping when ctx ends. An error from src is
// the client's: passed through if it is a *medrec.Error, else EINVALID.
func copyLimited(ctx context.Context, dst io.Writer, src io.Reader, limit int64) (int64, error) {
	buf := make([]byte, 32<<10)
	var n int64
	for {
		if err := ctx.Err(); err != nil {
			return n, &medrec.Error{Code: medrec.EINVALID, Message: "the upload was interrupted", Err: err}
		}
		m, rerr := src.Read(buf)
		if m > 0 {
			n += int64(m)
			if n > limit {
				return n, medrec.Errorf(medrec.ETOOLARGE, "the file exceeds %d bytes", limit)
			}
			if _, err := dst.Write(buf[:m]); err != nil {
				return n, fmt.Errorf("blob put: write: %w", err)
			}
		}
		if rerr == io.EOF {
			return n, nil
		}
		if rerr != nil {
			var me *medrec.Error
			if errors.As(rerr, &me) {
				return n, rerr
			}
			return n, &medrec.Error{Code: medrec.EINVALID, Message: "the file could not be read completely", Err: rerr}
		}
	}
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Open opens the file stored under key.
func (s *Local) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	if !validKey(key) {
		return nil, medrec.Errorf(medrec.ENOTFOUND, "file not found")
	}
	f, err := os.Open(s.path(key))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, &medrec.Error{Code: medrec.ENOTFOUND, Message: "file not found", Err: err}
	}
	if err != nil {
		return nil, fmt.Errorf("blob open: %w", err)
	}
	return f, nil
}

// Delete removes the file stored under key; a missing file is no error.
func (s *Local) Delete(ctx context.Context, key string) error {
	if !validKey(key) {
		return medrec.Errorf(medrec.EINVALID, "not a blob key")
	}
	if err := os.Remove(s.path(key)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("blob delete: %w", err)
	}
	return nil
}

// RemoveStaleTemp removes temporary files older than age that a crash
// left behind; call it at start-up. It returns how many it removed.
func (s *Local) RemoveStaleTemp(age time.Duration) (int, error) {
	cutoff := time.Now().Add(-age)
	n := 0
	err := filepath.WalkDir(s.root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !strings.HasPrefix(d.Name(), ".tmp-") {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil // gone meanwhile
		}
		if info.ModTime().Before(cutoff) {
			if err := os.Remove(path); err == nil {
				n++
			}
		}
		return nil
	})
	return n, err
}

// sniffer detects a file's content type from its bytes as they stream
// past: the magic numbers of PDF, PNG, JPEG and TIFF in the first bytes,
// or else plain text, which must be valid UTF-8 without NUL from first to
// last byte and must not look like HTML or XML.
type sniffer struct {
	head    []byte // the first headLen bytes
	carry   []byte // an incomplete UTF-8 sequence at the end of the last write
	textOK  bool
	written int64
}

const headLen = 512

func newSniffer() *sniffer { return &sniffer{textOK: true} }

func (s *sniffer) Write(p []byte) (int, error) {
	if n := headLen - len(s.head); n > 0 {
		s.head = append(s.head, p[:min(n, len(p))]...)
	}
	s.written += int64(len(p))
	if s.textOK {
		s.checkText(p)
	}
	return len(p), nil
}

func (s *sniffer) checkText(p []byte) {
	if bytes.IndexByte(p, 0) >= 0 {
		s.textOK = false
		return
	}
	b := p
	if len(s.carry) > 0 {
		b = append(append([]byte{}, s.carry...), p...)
		s.carry = nil
	}
	// Hold back a trailing sequence that may be completed by the next write.
	cut := len(b)
	for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax; i-- {
		if utf8.RuneStart(b[i]) {
			if !utf8.FullRune(b[i:]) {
				cut = i
			}
			break
		}
	}
	if !utf8.Valid(b[:cut]) {
		s.textOK = false
		return
	}
	s.carry = append(s.carry, b[cut:]...)
}

// result is the detected content type, or false for an unaccepted one.
func (s *sniffer) result() (string, bool) {
	h := s.head
	switch {
	case bytes.HasPrefix(h, []byte("%PDF-")):
		return "application/pdf", true
	case bytes.HasPrefix(h, []byte("\x89PNG\r\n\x1a\n")):
		return "image/png", true
	case bytes.HasPrefix(h, []byte("\xff\xd8\xff")):
		return "image/jpeg", true
	case bytes.HasPrefix(h, []byte("II*\x00")), bytes.HasPrefix(h, []byte("MM\x00*")):
		return "image/tiff", true
	}
	if !s.textOK || len(s.carry) > 0 {
		return "", false
	}
	// Markup is not "plain text": a browser could be talked into running it.
	if ct := http.DetectContentType(h); !strings.HasPrefix(ct, "text/plain") || looksLikeMarkup(h) {
		return "", false
	}
	return "text/plain; charset=utf-8", true
}

// looksLikeMarkup catches what http.DetectContentType lets through as text:
// a document starting with a tag, such as <svg or <!-- after a BOM or space.
func looksLikeMarkup(h []byte) bool {
	t := bytes.TrimLeft(bytes.TrimPrefix(h, []byte("\xef\xbb\xbf")), " \t\r\n\f")
	return bytes.HasPrefix(t, []byte("<"))
}
