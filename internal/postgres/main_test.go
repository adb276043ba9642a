package postgres_test

import (
	"os"
	"testing"

	"medrec/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
