package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// DB is one test's private database.
type DB struct {
	Name     string
	OwnerURL string // the admin role that owns the schema (a superuser on the private cluster)
	AppURL   string // the service role, as medrec serve connects
}

// New returns a fresh database migrated to the newest migration, dropped
// when the test ends. A missing PostgreSQL fails the test with what to do.
func New(t testing.TB) *DB {
	t.Helper()
	return create(t, true)
}

// NewEmpty returns a fresh database with no schema at all, for tests of the
// migrations themselves.
func NewEmpty(t testing.TB) *DB {
	t.Helper()
	return create(t, false)
}

func create(t testing.TB, migrated bool) *DB {
	t.Helper()
	s, err := getServer()
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	var suffix [6]byte
	if _, err := rand.Read(suffix[:]); err != nil {
		t.Fatalf("pgtest: random name: %v", err)
	}
	name := "medrec_test_" + hex.EncodeToString(suffix[:])
	stmt := "CREATE DATABASE " + pgx.Identifier{name}.Sanitize()
	if migrated {
		stmt += " TEMPLATE " + pgx.Identifier{s.template}.Sanitize()
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := s.admin.Exec(ctx, stmt); err != nil {
		t.Fatalf("pgtest: create database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, err := s.admin.Exec(ctx, "DROP DATABASE "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})
	return &DB{Name: name, OwnerURL: s.urlFor(name, ""), AppURL: s.urlFor(name, AppRoleName)}
}

// Conn opens a connection to url for the length of the test.
func Conn(t testing.TB, url string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("pgtest: connect: %v", err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}
