package postgres

import (
	"fmt"
	"net/url"
	"strings"
)

// ConnString returns base with its user and database replaced (an empty
// argument keeps base's value). When user is given, base's password is
// dropped, since it belongs to another role, and password (if any) is used. It accepts both URL
// (postgres://...) and keyword/value (host=... user=...) forms, so the
// service role's connection can be derived from the owner's DATABASE_URL.
func ConnString(base, user, password, database string) (string, error) {
	if strings.HasPrefix(base, "postgres://") || strings.HasPrefix(base, "postgresql://") {
		u, err := url.Parse(base)
		if err != nil {
			return "", fmt.Errorf("parse database URL: not a valid URL")
		}
		if user != "" {
			if password != "" {
				u.User = url.UserPassword(user, password)
			} else {
				u.User = url.User(user)
			}
		}
		if database != "" {
			u.Path = "/" + database
		}
		return u.String(), nil
	}
	// Keyword/value form: a later keyword overrides an earlier one.
	var b strings.Builder
	b.WriteString(base)
	pairs := [][2]string{{"dbname", database}}
	if user != "" {
		pairs = append(pairs, [2]string{"user", user}, [2]string{"password", password})
	}
	for _, kv := range pairs {
		if kv[1] != "" || kv[0] == "password" {
			fmt.Fprintf(&b, " %s='%s'", kv[0], strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(kv[1]))
		}
	}
	return b.String(), nil
}
