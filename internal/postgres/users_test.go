package postgres_test

import (
	"context"
	"sync"
	"testing"

	"medrec"
	"medrec/internal/pgtest"
	"medrec/internal/postgres"
)

const testHash = "$2a$10$abcdefghijklmnopqrstuuabcdefghijklmnopqrstuvwxyz01234"

func TestCreateUser(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		users := postgres.NewUserService(openApp(t, pgtest.New(t)))
		u, err := users.CreateUser(ctx, medrec.NewUser{Email: "ann@example.org", Password: "correct horse battery", Role: medrec.RoleNurse}, testHash)
		if err != nil {
			t.Fatal(err)
		}
		if u.ID == "" || u.Email != "ann@example.org" || u.Role != medrec.RoleNurse || u.Status != medrec.UserActive || u.CreatedAt.IsZero() {
			t.Fatalf("created user = %+v", u)
		}
	})
	t.Run("ErrConflictIgnoringCase", func(t *testing.T) {
		t.Parallel()
		users := postgres.NewUserService(openApp(t, pgtest.New(t)))
		if _, err := users.CreateUser(ctx, medrec.NewUser{Email: "Bob@Example.org", Password: "correct horse battery", Role: medrec.RoleAdmin}, testHash); err != nil {
			t.Fatal(err)
		}
		_, err := users.CreateUser(ctx, medrec.NewUser{Email: "bob@example.org", Password: "correct horse battery", Role: medrec.RoleNurse}, testHash)
		if medrec.ErrorCode(err) != medrec.ECONFLICT {
			t.Fatalf("second user with the same email in other case: %v, want ECONFLICT", err)
		}
		if f := medrec.ErrorFields(err); len(f) != 1 || f[0].Field != "email" {
			t.Fatalf("conflict fields = %+v, want email", f)
		}
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		t.Parallel()
		users := postgres.NewUserService(openApp(t, pgtest.New(t)))
		_, err := users.CreateUser(ctx, medrec.NewUser{Email: "not an email", Password: "short", Role: "DOCTOR"}, testHash)
		if medrec.ErrorCode(err) != medrec.EINVALID {
			t.Fatalf("got %v, want EINVALID", err)
		}
		got := map[string]bool{}
		for _, f := range medrec.ErrorFields(err) {
			got[f.Field] = true
		}
		if !got["email"] || !got["password"] || !got["role"] {
			t.Fatalf("invalid fields = %v, want email, password and role", got)
		}
	})
}

func TestCreateFirstAdminOnlyOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	users := postgres.NewUserService(openApp(t, pgtest.New(t)))

	// Several processes starting at once must make exactly one ADMIN.
	var wg sync.WaitGroup
	created := make(chan bool, 8)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := users.CreateFirstAdmin(ctx, "admin@example.org", func() (string, error) { return testHash, nil })
			if err != nil {
				t.Errorf("start %d: %v", i, err)
			}
			created <- ok
		}()
	}
	wg.Wait()
	close(created)
	n := 0
	for ok := range created {
		if ok {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d first administrators created, want 1", n)
	}
	// Once a user exists, the hash is never even computed.
	created2, err := users.CreateFirstAdmin(ctx, "other@example.org", func() (string, error) {
		t.Error("hash computed although a user exists")
		return testHash, nil
	})
	if err != nil || created2 {
		t.Fatalf("second start: created=%v err=%v, want false, nil", created2, err)
	}
}
