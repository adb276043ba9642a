package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base32"
	"encoding/binary"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// TOTP parameters. They are the defaults every authenticator app supports
// (RFC 6238 with HMAC-SHA1, 6 digits, 30-second steps); anything else
// trades compatibility for nothing, since SHA-1's collision weakness does
// not affect HMAC.
const (
	totpDigits  = 6
	totpPeriod  = 30 // seconds
	totpModulus = 1_000_000
	// totpSecretBytes is 160 bits, RFC 4226's recommended secret length.
	totpSecretBytes = 20
	// totpMinSecretBytes is RFC 4226's minimum (128 bits); shorter secrets
	// are refused rather than verified.
	totpMinSecretBytes = 16
	// totpSkewSteps is how many steps either side of the current one are
	// accepted, for clock drift and the time it takes to type a code.
	totpSkewSteps = 1
)

// totpEncoding is the base32 that authenticator apps expect: RFC 4648
// alphabet, no padding.
var totpEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// NewTOTPSecret returns a new random TOTP secret: 20 bytes, base32 without
// padding, as authenticator apps expect it in an otpauth URI.
func NewTOTPSecret() string {
	b := make([]byte, totpSecretBytes)
	_, _ = rand.Read(b) // never fails; see NewRefreshToken
	return totpEncoding.EncodeToString(b)
}

// TOTPURI returns the otpauth:// URI that enrols secret in an authenticator
// app (usually shown as a QR code): the label is "issuer:account" and the
// parameters are spelled out even where they are the defaults, since some
// apps do not assume them.
func TOTPURI(secret, issuer, account string) string {
	// The label's ':' separates issuer from account, so a ':' inside either
	// is escaped; spaces are %20, never '+', which several apps would show
	// literally.
	label := escapeOTPAuth(issuer) + ":" + escapeOTPAuth(account)
	return "otpauth://totp/" + label +
		"?secret=" + escapeOTPAuth(secret) +
		"&issuer=" + escapeOTPAuth(issuer) +
		"&algorithm=SHA1" +
		fmt.Sprintf("&digits=%d&period=%d", totpDigits, totpPeriod)
}

// escapeOTPAuth percent-encodes s for either the label or a query value of
// an otpauth URI: everything but unreserved characters is escaped.
func escapeOTPAuth(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
}

// TOTPCode returns the 6-digit code for secret (base32, padding and case
// optional, spaces ignored) at time t. It errors on a malformed or too
// short secret, or a time before 1970.
func TOTPCode(secret string, t time.Time) (string, error) {
	key, err := decodeTOTPSecret(secret)
	if err != nil {
		return "", err
	}
	step, err := totpStep(t)
	if err != nil {
		return "", err
	}
	return totpAt(key, step), nil
}

// VerifyTOTP checks a code typed by the user against secret at time t. It
// accepts the codes of the current 30-second step and of one step either
// side, but only for steps after lastUsedStep (pass 0 when no code has been
// used yet), so that a code, once used, cannot be used again, even by
// someone who watched it being typed. It returns the step that matched;
// the caller must store it as the new lastUsedStep, atomically with the
// check (e.g. UPDATE ... SET totp_last_step = $step WHERE totp_last_step <
// $step), or two concurrent logins could both use one code.
//
// Only six ASCII digits are accepted. A wrong code tells the caller nothing
// about which part was wrong (the comparison is constant-time), but six
// digits are still only a million guesses: login attempts must be throttled.
func VerifyTOTP(secret, code string, t time.Time, lastUsedStep int64) (step int64, ok bool) {
	if len(code) != totpDigits {
		return 0, false
	}
	for i := 0; i < len(code); i++ {
		if code[i] < '0' || code[i] > '9' {
			return 0, false
		}
	}
	key, err := decodeTOTPSecret(secret)
	if err != nil {
		return 0, false
	}
	current, err := totpStep(t)
	if err != nil {
		return 0, false
	}
	// Check every candidate step instead of stopping at the first match, so
	// the work done does not depend on which step matched, and keep the
	// latest match: on the one-in-a-million chance that a code matches two
	// steps, recording the later one leaves neither usable again.
	matched := int64(-1)
	for s := current - totpSkewSteps; s <= current+totpSkewSteps; s++ {
		if s <= lastUsedStep || s < 0 {
			continue
		}
		if subtle.ConstantTimeCompare([]byte(totpAt(key, s)), []byte(code)) == 1 {
			matched = s
		}
	}
	if matched < 0 {
		return 0, false
	}
	return matched, true
}

// decodeTOTPSecret decodes a base32 secret as users and apps write it:
// case-insensitive, with or without padding, spaces allowed.
func decodeTOTPSecret(secret string) ([]byte, error) {
	s := strings.ToUpper(strings.ReplaceAll(secret, " ", ""))
	s = strings.TrimRight(s, "=")
	key, err := totpEncoding.DecodeString(s)
	if err != nil {
		return nil, errors.New("totp: secret is not valid base32")
	}
	if len(key) < totpMinSecretBytes {
		return nil, fmt.Errorf("totp: secret is shorter than %d bytes", totpMinSecretBytes)
	}
	return key, nil
}

// totpStep returns the RFC 6238 time step of t.
func totpStep(t time.Time) (int64, error) {
	unix := t.Unix()
	if unix < 0 {
		return 0, errors.New("totp: time before 1970")
	}
	return unix / totpPeriod, nil
}

// totpAt computes the RFC 4226 HOTP value of key for counter step,
// truncated to six digits and zero-padded.
func totpAt(key []byte, step int64) string {
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], uint64(step))
	mac := hmac.New(sha1.New, key)
	mac.Write(msg[:])
	sum := mac.Sum(nil)
	// Dynamic truncation (RFC 4226 section 5.3).
	offset := sum[len(sum)-1] & 0x0f
	bin := binary.BigEndian.Uint32(sum[offset:offset+4]) & 0x7fffffff
	return fmt.Sprintf("%0*d", totpDigits, bin%totpModulus)
}
