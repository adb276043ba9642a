package medrec_test

import (
	"strings"
	"testing"

	"medrec"
)

func TestNewUserValidate(t *testing.T) {
	t.Parallel()
	const good = "a good long password"
	for _, tc := range []struct {
		name       string
		user       medrec.NewUser
		wantFields []string
	}{
		{"OK", medrec.NewUser{Email: "ann@example.org", Password: good, Role: medrec.RoleNurse}, nil},
		{"OK72Bytes", medrec.NewUser{Email: "ann@example.org", Password: strings.Repeat("x", 72), Role: medrec.RoleAdmin}, nil},
		{"ErrEmailMissing", medrec.NewUser{Password: good, Role: medrec.RoleNurse}, []string{"email"}},
		{"ErrEmailDisplayName", medrec.NewUser{Email: "Ann <ann@example.org>", Password: good, Role: medrec.RoleNurse}, []string{"email"}},
		{"ErrEmailTooLong", medrec.NewUser{Email: strings.Repeat("a", 250) + "@x.org", Password: good, Role: medrec.RoleNurse}, []string{"email"}},
		{"ErrPassword73Bytes", medrec.NewUser{Email: "ann@example.org", Password: strings.Repeat("x", 73), Role: medrec.RoleNurse}, []string{"password"}},
		{"ErrPassword11Chars", medrec.NewUser{Email: "ann@example.org", Password: "abcdefghijk", Role: medrec.RoleNurse}, []string{"password"}},
		{"ErrRole", medrec.NewUser{Email: "ann@example.org", Password: good, Role: "DOCTOR"}, []string{"role"}},
		{"ErrEverything", medrec.NewUser{}, []string{"email", "password", "role"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.user.Validate()
			var got []string
			for _, f := range medrec.ErrorFields(err) {
				got = append(got, f.Field)
			}
			if strings.Join(got, ",") != strings.Join(tc.wantFields, ",") {
				t.Fatalf("invalid fields = %v, want %v (err %v)", got, tc.wantFields, err)
			}
			if tc.wantFields != nil && medrec.ErrorCode(err) != medrec.EINVALID {
				t.Fatalf("code = %q, want EINVALID", medrec.ErrorCode(err))
			}
		})
	}
}
