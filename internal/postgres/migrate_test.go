package postgres_test

import (
	"context"
	"testing"

	"medrec"
	"medrec/internal/pgtest"
	"medrec/internal/postgres"
)

func TestMigrateDownThenUpLeavesTheSameSchema(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.NewEmpty(t)
	if err := pgtest.Migrate(ctx, db.OwnerURL); err != nil {
		t.Fatal(err)
	}
	conn := pgtest.Conn(t, db.OwnerURL)
	first := readCatalog(t, conn)
	if _, ok := first["table patients"]; !ok {
		t.Fatalf("migrated schema has no patients table: %d objects", len(first))
	}

	m, err := postgres.NewMigrator(db.OwnerURL, postgres.AppRole{Name: pgtest.AppRoleName}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := m.Down(ctx, true); err != nil {
		t.Fatal(err)
	}
	if left := readCatalog(t, conn); len(left) != 0 {
		t.Fatalf("after migrating all the way down, %d objects remain: %v", len(left), diff(catalog{}, left))
	}
	status, err := m.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range status {
		if s.Applied {
			t.Errorf("migration %d still applied after down", s.Version)
		}
	}

	if err := m.Up(ctx); err != nil {
		t.Fatal(err)
	}
	if d := diff(first, readCatalog(t, conn)); len(d) > 0 {
		t.Fatalf("down then up changed the schema:\n%v", d)
	}
	status, err = m.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(status) == 0 || status[len(status)-1].Version != postgres.LatestVersion() {
		t.Fatalf("status = %+v, want every migration up to %d", status, postgres.LatestVersion())
	}
	for _, s := range status {
		if !s.Applied {
			t.Errorf("migration %d not applied after up", s.Version)
		}
	}
}

func TestReady(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		db := openApp(t, pgtest.New(t))
		if err := db.Ready(ctx); err != nil {
			t.Fatalf("Ready on a migrated database: %v", err)
		}
	})
	t.Run("ErrUnavailableWhenBehind", func(t *testing.T) {
		t.Parallel()
		tdb := pgtest.New(t)
		m, err := postgres.NewMigrator(tdb.OwnerURL, postgres.AppRole{Name: pgtest.AppRoleName}, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		if err := m.Down(ctx, false); err != nil {
			t.Fatal(err)
		}
		err = openApp(t, tdb).Ready(ctx)
		if got := medrec.ErrorCode(err); got != medrec.EUNAVAILABLE {
			t.Fatalf("Ready one migration behind = %v (code %q), want %q", err, got, medrec.EUNAVAILABLE)
		}
	})
}

// openApp opens the service's pool on db as the service role.
func openApp(t *testing.T, db *pgtest.DB) *postgres.DB {
	t.Helper()
	pool, err := postgres.Open(context.Background(), db.AppURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}
