package auth

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestLoadOrCreateSigningKey(t *testing.T) {
	t.Parallel()

	t.Run("OKCreateThenReload", func(t *testing.T) {
		t.Parallel()
		dir := filepath.Join(t.TempDir(), "keys") // not there yet: must be created
		path := filepath.Join(dir, "signing.pem")

		created, err := LoadOrCreateSigningKey(path)
		if err != nil {
			t.Fatal(err)
		}
		if len(created) != ed25519.PrivateKeySize {
			t.Fatalf("key of %d bytes", len(created))
		}
		reloaded, err := LoadOrCreateSigningKey(path)
		if err != nil {
			t.Fatal(err)
		}
		if !created.Equal(reloaded) {
			t.Fatal("reloading gave another key")
		}

		info, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := info.Mode().Perm(); got != 0o600 {
			t.Fatalf("key file mode = %04o, want 0600", got)
		}
		dirInfo, err := os.Stat(dir)
		if err != nil {
			t.Fatal(err)
		}
		if got := dirInfo.Mode().Perm(); got != 0o700 {
			t.Fatalf("key directory mode = %04o, want 0700", got)
		}
		// No temporary file is left behind.
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != 1 {
			t.Fatalf("directory holds %d entries, want only the key", len(entries))
		}
		// The file is a standard PKCS#8 PEM that other tools can read.
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		block, _ := pem.Decode(data)
		if block == nil || block.Type != "PRIVATE KEY" {
			t.Fatalf("not a PRIVATE KEY PEM block")
		}
		parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		if !created.Equal(parsed) {
			t.Fatal("file holds another key")
		}
	})

	for _, tc := range []struct {
		name   string
		mode   os.FileMode
		wantOK bool
	}{
		{"OKMode0600", 0o600, true},
		{"OKMode0400", 0o400, true},
		{"ErrMode0644", 0o644, false},
		{"ErrMode0640GroupReadable", 0o640, false},
		{"ErrMode0604OthersReadable", 0o604, false},
		{"ErrMode0620GroupWritable", 0o620, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "signing.pem")
			created, err := LoadOrCreateSigningKey(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, tc.mode); err != nil {
				t.Fatal(err)
			}
			key, err := LoadOrCreateSigningKey(path)
			if tc.wantOK {
				if err != nil || !created.Equal(key) {
					t.Fatalf("mode %04o: err = %v, same key = %v", tc.mode, err, created.Equal(key))
				}
				return
			}
			if err == nil || key != nil {
				t.Fatalf("a key file of mode %04o was accepted", tc.mode)
			}
			if !strings.Contains(err.Error(), "chmod 600") {
				t.Fatalf("error %q does not say how to fix it", err)
			}
			// The file is refused, not replaced.
			if info, _ := os.Stat(path); info.Mode().Perm() != tc.mode {
				t.Fatalf("file mode changed to %04o", info.Mode().Perm())
			}
		})
	}

	t.Run("OKConcurrentCreatorsAgree", func(t *testing.T) {
		t.Parallel()
		// Replicas sharing a volume may start at once: they must all end up
		// with the key that is on disk, not each with its own.
		path := filepath.Join(t.TempDir(), "signing.pem")
		keys := make([]ed25519.PrivateKey, 8)
		errs := make([]error, len(keys))
		var wg sync.WaitGroup
		for i := range keys {
			wg.Go(func() { keys[i], errs[i] = LoadOrCreateSigningKey(path) })
		}
		wg.Wait()
		onDisk, err := LoadOrCreateSigningKey(path)
		if err != nil {
			t.Fatal(err)
		}
		for i := range keys {
			if errs[i] != nil {
				t.Fatalf("creator %d: %v", i, errs[i])
			}
			if !onDisk.Equal(keys[i]) {
				t.Fatalf("creator %d holds a key that is not the one on disk", i)
			}
		}
	})

	t.Run("ErrNotAKeyIsNotOverwritten", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "signing.pem")
		junk := "MIIBOgIBAAJBAKj34GkxFhD9 this is not a key"
		if err := os.WriteFile(path, []byte(junk), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := LoadOrCreateSigningKey(path)
		if err == nil {
			t.Fatal("junk accepted")
		}
		if strings.Contains(err.Error(), "MIIBOgIBAAJBAKj34GkxFhD9") {
			t.Fatalf("error echoes the file's content: %v", err)
		}
		data, _ := os.ReadFile(path)
		if string(data) != junk {
			t.Fatal("the junk file was overwritten")
		}
	})

	t.Run("ErrOtherKeyType", func(t *testing.T) {
		t.Parallel()
		ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		der, err := x509.MarshalPKCS8PrivateKey(ecKey)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), "signing.pem")
		if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadOrCreateSigningKey(path); err == nil {
			t.Fatal("an ECDSA key was accepted as Ed25519")
		}
	})
}

func TestParseSigningKey(t *testing.T) {
	t.Parallel()
	seed := make([]byte, ed25519.SeedSize)
	if _, err := rand.Read(seed); err != nil {
		t.Fatal(err)
	}
	want := ed25519.NewKeyFromSeed(seed)
	der, err := x509.MarshalPKCS8PrivateKey(want)
	if err != nil {
		t.Fatal(err)
	}
	pemText := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))

	for _, tc := range []struct {
		name  string
		input string
	}{
		{"OKPEM", pemText},
		{"OKPEMWithSurroundingSpace", "\n  " + pemText + "\n"},
		{"OKBase64Seed", base64.StdEncoding.EncodeToString(seed)},
		{"OKRawBase64URLSeed", base64.RawURLEncoding.EncodeToString(seed)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseSigningKey(tc.input)
			if err != nil {
				t.Fatal(err)
			}
			if !want.Equal(got) {
				t.Fatal("parsed another key")
			}
		})
	}

	secretLooking := "c2VjcmV0LWtleS1tYXRlcmlhbC10aGF0LW11c3Qtbm90LWxlYWs"
	for _, tc := range []struct {
		name  string
		input string
	}{
		{"ErrEmpty", ""},
		{"ErrJunk", secretLooking + "!!"},
		{"ErrBase64OfWrongLength", secretLooking},
		{"ErrSeedTooShort", base64.StdEncoding.EncodeToString(seed[:31])},
		{"ErrPEMOfWrongType", strings.ReplaceAll(pemText, "PRIVATE KEY", "PUBLIC KEY")},
		{"ErrPEMWithCorruptBody", "-----BEGIN PRIVATE KEY-----\n" + secretLooking + "\n-----END PRIVATE KEY-----\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			key, err := ParseSigningKey(tc.input)
			if err == nil || key != nil {
				t.Fatal("accepted")
			}
			if tc.input != "" && strings.Contains(err.Error(), secretLooking[:16]) {
				t.Fatalf("error echoes the input: %v", err)
			}
		})
	}
}
