package auth

import (
	"strings"
	"testing"

	"medrec"
)

func TestCommonPasswordList(t *testing.T) {
	t.Parallel()
	if n := len(commonPasswords); n < 150 {
		t.Fatalf("the list holds %d passwords; did the embed break?", n)
	}
	for p := range commonPasswords {
		if p != strings.ToLower(p) || p != strings.TrimSpace(p) {
			t.Fatalf("entry %q is not lower-case and trimmed", p)
		}
	}
}

func TestIsCommonPassword(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		password string
		want     bool
	}{
		{"password", true},
		{"123456789012", true},
		{"password1234", true},
		{"qwertyuiopas", true},
		{"iloveyou1234", true},
		{"PASSWORD1234", true},
		{"Password123456!", true},
		{"password!!!!", true},
		{"Dragon2024!!", true},
		{"Welcome12345", true},
		{"iloveyou99999!", true},
		{"1Q2W3E4R5T6Y", true},
		{"aaaaaaaaaaaaaa", true},
		{"correct horse battery staple", true},
		// Not on the list, or not reducible to a listed word.
		{"vivid-otter-lantern-glacier", false},
		{"a good long password", false},
		{"password is not the point here", false},
		{"mypasswordisgood", false},
		{"398476120573", false}, // all digits, but not a common run
		{"!!!!password", false}, // only a trailing suffix is stripped
		{"", false},
	} {
		if got := IsCommonPassword(tc.password); got != tc.want {
			t.Fatalf("IsCommonPassword(%q) = %v, want %v", tc.password, got, tc.want)
		}
	}
}

func TestCheckPasswordPolicy(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		password string
		want     *medrec.FieldError // nil: accepted
	}{
		{"OKLongPassphrase", "vivid-otter-lantern-glacier-42", nil},
		{"OKExactly12Chars", "k7#Vq2!mZp9w", nil},
		{"OK72Bytes", strings.Repeat("éa", 24), nil},
		{"Err73Bytes", strings.Repeat("x", 40) + strings.Repeat("é", 16) + "y", &medrec.FieldError{Field: "new_password", Message: "must be at most 72 bytes"}},
		{"Err11Chars", "k7#Vq2!mZp9", &medrec.FieldError{Field: "new_password", Message: "must be at least 12 characters"}},
		{"ErrPasswordIsTooShortFirst", "password", &medrec.FieldError{Field: "new_password", Message: "must be at least 12 characters"}},
		{"ErrCommon", "Password123456!", &medrec.FieldError{Field: "new_password", Message: "is too common"}},
		{"ErrCommonListed", "qwertyuiopas", &medrec.FieldError{Field: "new_password", Message: "is too common"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := CheckPasswordPolicy("new_password", tc.password)
			switch {
			case tc.want == nil && got != nil:
				t.Fatalf("refused: %+v", *got)
			case tc.want != nil && got == nil:
				t.Fatalf("accepted, want %+v", *tc.want)
			case tc.want != nil && *got != *tc.want:
				t.Fatalf("got %+v, want %+v", *got, *tc.want)
			}
		})
	}
	if n := len(strings.Repeat("x", 40) + strings.Repeat("é", 16) + "y"); n != 73 {
		t.Fatalf("test input is %d bytes, want 73", n)
	}
}
