package auth

import (
	_ "embed"
	"strings"

	"medrec"
)

// commonPasswordsText is the embedded list; see the file for what is in it
// and why base words shorter than the length rule are there.
//
//go:embed commonpasswords.txt
var commonPasswordsText string

// commonPasswords is the list as a set, built once at start-up.
var commonPasswords = parseCommonPasswords(commonPasswordsText)

func parseCommonPasswords(text string) map[string]struct{} {
	set := make(map[string]struct{})
	for line := range strings.Lines(text) {
		line = strings.TrimRight(line, "\r\n")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		set[strings.ToLower(line)] = struct{}{}
	}
	return set
}

// commonSuffixChars are what people append to a word to get it past a
// length or "must contain a digit/symbol" rule.
const commonSuffixChars = "0123456789!.?*#@$"

// IsCommonPassword reports whether p is one of the most common passwords,
// ignoring case and a trailing run of digits or punctuation appended to a
// common word ("Password123456!" is "password"), or is one character
// repeated. It is a deny-list of what attackers try first, not a strength
// meter: a password it accepts may still be weak.
func IsCommonPassword(p string) bool {
	lower := strings.ToLower(p)
	if _, ok := commonPasswords[lower]; ok {
		return true
	}
	// An empty base would make every all-digit password "common"; those are
	// caught, if frequent, by their own entries ("123456789012").
	if base := strings.TrimRight(lower, commonSuffixChars); base != "" && base != lower {
		if _, ok := commonPasswords[base]; ok {
			return true
		}
	}
	return isOneRepeatedRune(lower)
}

// isOneRepeatedRune reports whether s is a single character repeated.
func isOneRepeatedRune(s string) bool {
	var first rune
	for i, r := range s {
		if i == 0 {
			first = r
		} else if r != first {
			return false
		}
	}
	return s != ""
}

// CheckPasswordPolicy checks a new password against medrec's whole
// password policy: medrec.ValidatePassword's length rules (at least 12
// characters, at most 72 bytes, which bcrypt would otherwise truncate),
// then the common-password list. It names field in the error it returns,
// and returns nil for an acceptable password.
//
// The common-password check lives here rather than in medrec.NewUser's
// Validate because the domain root carries no word lists; callers that set
// a password (user creation, password change) call this as well.
func CheckPasswordPolicy(field, password string) *medrec.FieldError {
	if f := medrec.ValidatePassword(field, password); f != nil {
		return f
	}
	if IsCommonPassword(password) {
		return &medrec.FieldError{Field: field, Message: "is too common"}
	}
	return nil
}
