package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestMainFlagMistakes checks the two ways a command line can be wrong: a
// flag mistake exits 2 with flag's own message (not as an invalid
// configuration), a bad value exits 1 naming the setting; neither reaches a
// database.
func TestMainFlagMistakes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, cmd := range [][]string{{"migrate", "status"}, {"demo"}, {"audit", "verify"}, {"serve"}} {
		var out, errOut bytes.Buffer
		args := append(cmd, "-no-such-flag")
		code := run(context.Background(), args, func(k string) string {
			if k == "MEDREC_DATA_DIR" {
				return dir
			}
			return ""
		}, strings.NewReader(""), &out, &errOut)
		if code != 2 || !strings.Contains(errOut.String(), "flag provided but not defined: -no-such-flag") ||
			strings.Contains(errOut.String(), "invalid configuration") {
			t.Errorf("medrec %s: exit %d, stderr %q; want exit 2 and flag's message only", strings.Join(args, " "), code, errOut.String())
		}
	}
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"migrate", "status"}, func(k string) string {
		switch k {
		case "MEDREC_DATA_DIR":
			return dir
		case "MEDREC_BCRYPT_COST":
			return "1"
		}
		return ""
	}, strings.NewReader(""), &out, &errOut)
	if code != 1 || !strings.Contains(errOut.String(), "invalid configuration") || !strings.Contains(errOut.String(), "MEDREC_BCRYPT_COST") {
		t.Errorf("bad MEDREC_BCRYPT_COST: exit %d, stderr %q; want exit 1 naming the setting", code, errOut.String())
	}
}
