package auth

import (
	"encoding/base32"
	"net/url"
	"strings"
	"testing"
	"time"
)

// rfcSecret is RFC 6238's SHA-1 test secret, "12345678901234567890",
// in base32.
var rfcSecret = base32.StdEncoding.EncodeToString([]byte("12345678901234567890"))

func TestTOTPCodeRFC6238Vectors(t *testing.T) {
	t.Parallel()
	if rfcSecret != "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ" {
		t.Fatalf("rfcSecret = %q", rfcSecret)
	}
	// RFC 6238 appendix B, SHA-1, last six of the eight digits.
	for _, tc := range []struct {
		unix int64
		want string
	}{
		{59, "287082"},
		{1111111109, "081804"},
		{1111111111, "050471"},
		{1234567890, "005924"},
		{2000000000, "279037"},
		{20000000000, "353130"},
	} {
		got, err := TOTPCode(rfcSecret, time.Unix(tc.unix, 0))
		if err != nil {
			t.Fatal(err)
		}
		if got != tc.want {
			t.Fatalf("TOTPCode at %d = %q, want %q", tc.unix, got, tc.want)
		}
	}
}

func TestTOTPCodeAcceptsSecretAsTyped(t *testing.T) {
	t.Parallel()
	for _, secret := range []string{
		strings.ToLower(rfcSecret),
		"GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ",
		rfcSecret + "====",
	} {
		got, err := TOTPCode(secret, time.Unix(59, 0))
		if err != nil || got != "287082" {
			t.Fatalf("TOTPCode(%q) = %q, %v; want 287082", secret, got, err)
		}
	}
	for _, secret := range []string{"", "not base32!", "GEZDGNBVGY3TQOJQ"} { // the last is 10 bytes: too short
		if _, err := TOTPCode(secret, time.Unix(59, 0)); err == nil {
			t.Fatalf("TOTPCode(%q) accepted", secret)
		}
	}
}

func TestVerifyTOTP(t *testing.T) {
	t.Parallel()
	// At 1111111111 the step is 37037037; the codes of the steps around it:
	now := time.Unix(1111111111, 0)
	const step = int64(1111111111 / 30)
	code := func(s int64) string {
		c, err := TOTPCode(rfcSecret, time.Unix(s*30, 0))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}

	for _, tc := range []struct {
		name     string
		code     string
		lastUsed int64
		wantStep int64
		wantOK   bool
	}{
		{"OKCurrentStep", "050471", 0, step, true},
		{"OKPreviousStep", code(step - 1), 0, step - 1, true},
		{"OKNextStep", code(step + 1), 0, step + 1, true},
		{"ErrTwoStepsBack", code(step - 2), 0, 0, false},
		{"ErrTwoStepsAhead", code(step + 2), 0, 0, false},
		{"ErrReplayOfSameStep", "050471", step, 0, false},
		{"ErrStepBeforeLastUsed", code(step - 1), step, 0, false},
		{"OKNextStepAfterLastUsed", code(step + 1), step, step + 1, true},
		{"ErrWrongCode", "050472", 0, 0, false},
		{"ErrFiveDigits", "05047", 0, 0, false},
		{"ErrSevenDigits", "0504710", 0, 0, false},
		{"ErrNonDigit", "05047a", 0, 0, false},
		{"ErrSpaces", "050 471", 0, 0, false},
		{"ErrSign", "+50471", 0, 0, false},
		{"ErrFullWidthDigits", "０５０４７１", 0, 0, false},
		{"ErrEmpty", "", 0, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, ok := VerifyTOTP(rfcSecret, tc.code, now, tc.lastUsed)
			if ok != tc.wantOK || got != tc.wantStep {
				t.Fatalf("VerifyTOTP(%q, lastUsed %d) = %d, %v; want %d, %v", tc.code, tc.lastUsed, got, ok, tc.wantStep, tc.wantOK)
			}
		})
	}

	t.Run("ErrReplayAfterUse", func(t *testing.T) {
		t.Parallel()
		s, ok := VerifyTOTP(rfcSecret, "050471", now, 0)
		if !ok {
			t.Fatal("first use refused")
		}
		// Same code, same 30 seconds, with the step stored by the first use.
		if _, ok := VerifyTOTP(rfcSecret, "050471", now.Add(10*time.Second), s); ok {
			t.Fatal("replayed code accepted")
		}
	})

	t.Run("ErrBadSecret", func(t *testing.T) {
		t.Parallel()
		if _, ok := VerifyTOTP("!!", "050471", now, 0); ok {
			t.Fatal("accepted with a malformed secret")
		}
	})
}

func TestNewTOTPSecret(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for range 1000 {
		s := NewTOTPSecret()
		raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(s)
		if err != nil || len(raw) != 20 || len(s) != 32 || strings.Contains(s, "=") {
			t.Fatalf("secret %q is not unpadded base32 of 20 bytes", s)
		}
		if seen[s] {
			t.Fatalf("repeated secret %q", s)
		}
		seen[s] = true
		// A fresh secret works end to end.
		now := time.Now()
		c, err := TOTPCode(s, now)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := VerifyTOTP(s, c, now, 0); !ok {
			t.Fatalf("code %q for a fresh secret refused", c)
		}
	}
}

func TestTOTPURI(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, issuer, account, want string
	}{
		{
			"OK", "medrec", "ann@example.org",
			"otpauth://totp/medrec:ann%40example.org?secret=JBSWY3DPEHPK3PXP&issuer=medrec&algorithm=SHA1&digits=6&period=30",
		},
		{
			"OKEscapesSpaceColonAndAmpersand", "St Mary's: A&E", "a:b",
			"otpauth://totp/St%20Mary%27s%3A%20A%26E:a%3Ab?secret=JBSWY3DPEHPK3PXP&issuer=St%20Mary%27s%3A%20A%26E&algorithm=SHA1&digits=6&period=30",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := TOTPURI("JBSWY3DPEHPK3PXP", tc.issuer, tc.account)
			if got != tc.want {
				t.Fatalf("TOTPURI = %q\nwant      %q", got, tc.want)
			}
			// And it parses back to what went in.
			u, err := url.Parse(got)
			if err != nil {
				t.Fatal(err)
			}
			q := u.Query()
			if u.Scheme != "otpauth" || u.Host != "totp" || q.Get("issuer") != tc.issuer || q.Get("secret") != "JBSWY3DPEHPK3PXP" {
				t.Fatalf("parsed back as %#v, %v", u, q)
			}
			label, err := url.PathUnescape(strings.TrimPrefix(u.EscapedPath(), "/"))
			if err != nil {
				t.Fatal(err)
			}
			if want := tc.issuer + ":" + tc.account; label != want {
				t.Fatalf("label = %q, want %q", label, want)
			}
		})
	}
}
