package auth

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// maxSigningKeyFileBytes bounds how much of a key file is read. A PKCS#8
// Ed25519 PEM is about 120 bytes; anything much larger is not our key.
const maxSigningKeyFileBytes = 64 << 10

// errNotSigningKey is the one message for a key that does not parse. It
// deliberately carries no detail from the input: a key pasted into the
// wrong variable must not end up in a log by way of an error message.
var errNotSigningKey = errors.New("not an Ed25519 private key: want a PKCS#8 PEM block (BEGIN PRIVATE KEY) or the base64 of a 32-byte seed")

// LoadOrCreateSigningKey returns the Ed25519 key stored as a PKCS#8 PEM
// file at path. When no file exists it generates a key and writes it there
// (creating the directory with mode 0700, the file with mode 0600), so that
// a single-node install needs no key setup and keeps its tokens valid
// across restarts.
//
// A key file that group or others may read or write is refused: whoever
// can read it can mint an ADMIN token. A file that exists but does not hold
// a key is an error too, never overwritten: replacing a key silently would
// log everybody out and hide an operator's mistake.
func LoadOrCreateSigningKey(path string) (ed25519.PrivateKey, error) {
	key, err := loadSigningKey(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return key, err
	}
	return createSigningKey(path)
}

// loadSigningKey reads and checks the key file at path. Its error wraps
// fs.ErrNotExist when there is no file.
func loadSigningKey(path string) (ed25519.PrivateKey, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open signing key: %w", err)
	}
	defer f.Close()
	// Stat the open file, not the path, so the mode we check is the mode of
	// the file we read even if the path is swapped in between.
	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("stat signing key %s: %w", path, err)
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("signing key %s is not a regular file", path)
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("signing key %s has mode %04o, so group or others may access it: run chmod 600 %s (and consider replacing the key, since it may have been read)", path, perm, path)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxSigningKeyFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read signing key %s: %w", path, err)
	}
	if len(data) > maxSigningKeyFileBytes {
		return nil, fmt.Errorf("signing key %s: file is over %d bytes", path, maxSigningKeyFileBytes)
	}
	key, err := parsePEMSigningKey(data)
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w", path, err)
	}
	return key, nil
}

// createSigningKey generates a key and writes it to path atomically: into
// a temporary file in the same directory, flushed to disk, then linked into
// place. A reader never sees a half-written key.
//
// os.Link fails when path already exists, unlike os.Rename, which would
// replace it. That matters when several replicas share the directory and
// start at once: each generates a key, one wins, and the others load the
// winner's instead of signing with a key that no longer exists on disk.
func createSigningKey(path string) (ed25519.PrivateKey, error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create signing key directory: %w", err)
	}
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate signing key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encode signing key: %w", err)
	}
	data := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})

	// os.CreateTemp makes the file with mode 0600 and O_EXCL.
	tmp, err := os.CreateTemp(dir, ".signing-key-*.tmp")
	if err != nil {
		return nil, fmt.Errorf("create signing key: %w", err)
	}
	tmpName := tmp.Name()
	defer os.Remove(tmpName) // after a successful link this only drops the temporary name
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("create signing key: %w", err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("write signing key: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("write signing key: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return nil, fmt.Errorf("write signing key: %w", err)
	}

	switch err := os.Link(tmpName, path); {
	case err == nil:
	case errors.Is(err, fs.ErrExist):
		// Another process created the key first: use theirs.
		return loadSigningKey(path)
	default:
		// Some filesystems do not support hard links; fall back to a rename,
		// which is still atomic but may replace a key created meanwhile.
		if err := os.Rename(tmpName, path); err != nil {
			return nil, fmt.Errorf("install signing key %s: %w", path, err)
		}
	}
	syncDir(dir)
	return key, nil
}

// syncDir flushes a directory entry to disk so that a new key survives a
// crash. It is best effort: some platforms cannot sync a directory, and the
// key is already usable.
func syncDir(dir string) {
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	_ = d.Sync()
	_ = d.Close()
}

// ParseSigningKey parses an Ed25519 private key given by configuration
// (an environment variable or a secret store) rather than a file: either a
// PKCS#8 PEM block or the standard or URL-safe base64, padded or not, of
// the 32-byte seed. Its errors never include the input.
func ParseSigningKey(pemOrBase64 string) (ed25519.PrivateKey, error) {
	s := strings.TrimSpace(pemOrBase64)
	if strings.HasPrefix(s, "-----BEGIN") {
		return parsePEMSigningKey([]byte(s))
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		seed, err := enc.Strict().DecodeString(s)
		if err == nil && len(seed) == ed25519.SeedSize {
			return ed25519.NewKeyFromSeed(seed), nil
		}
	}
	return nil, errNotSigningKey
}

// parsePEMSigningKey decodes the first PEM block of data as a PKCS#8
// Ed25519 private key. Parser errors are dropped, not wrapped, to keep to
// the rule that nothing derived from the input reaches an error message.
func parsePEMSigningKey(data []byte) (ed25519.PrivateKey, error) {
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, errNotSigningKey
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, errNotSigningKey
	}
	key, ok := parsed.(ed25519.PrivateKey)
	if !ok {
		return nil, errNotSigningKey
	}
	return key, nil
}
