package postgres_test

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"medrec/internal/pgtest"
	"medrec/internal/postgres"
)

// BenchmarkAuditChainWrites measures what the audit chain costs a write
// load of many concurrent clients. Two databases are set up side by side:
// chain on (the schema as migrated, with the audit chain sealed every
// second while the load runs, as the service does) and chain off (the
// same with no sealing, and audit_log without what sealing needs: the txid
// column's default and its index). Each iteration runs one round of
// benchRoundWrites writes on each, in alternating order, so a change in the
// machine's load hits both alike. A round is benchClients clients on as
// many service-role connections, each updating its own patients as an
// ADMIN, one transaction per update; every update writes one audit row
// through audit_trigger_func.
//
// Reported: on-writes/s, off-writes/s and overhead-% (1 - on/off), and
// unsealed, the chained database's rows not yet sealed at the end (the
// sealer keeps up if it stays within about one second's writes).
// Run with e.g. -benchtime 10x; docs/benchmarks.md ("Audit chain cost")
// has the command and the figures.
//
// With MEDREC_BENCH_HOLD_SNAPSHOT=1, another connection to each database
// holds a REPEATABLE READ transaction open for the whole run, as a backup
// (pg_dump) or a long report does: no row version deleted or updated
// after its snapshot can be pruned meanwhile.
func BenchmarkAuditChainWrites(b *testing.B) {
	on, onPatients, onOwner := benchAuditDB(b, true)
	off, offPatients, _ := benchAuditDB(b, false)
	if os.Getenv("MEDREC_BENCH_HOLD_SNAPSHOT") == "1" {
		benchHoldSnapshot(b, on)
		benchHoldSnapshot(b, off)
	}
	benchSealEverySecond(b, on)
	var onTime, offTime time.Duration
	var onN, offN int
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i%2 == 0 {
			onTime += benchAuditRound(b, on, onPatients, i)
			offTime += benchAuditRound(b, off, offPatients, i)
		} else {
			offTime += benchAuditRound(b, off, offPatients, i)
			onTime += benchAuditRound(b, on, onPatients, i)
		}
		onN += benchRoundWrites
		offN += benchRoundWrites
	}
	b.StopTimer()
	onRate := float64(onN) / onTime.Seconds()
	offRate := float64(offN) / offTime.Seconds()
	b.ReportMetric(onRate, "on-writes/s")
	b.ReportMetric(offRate, "off-writes/s")
	b.ReportMetric(100*(1-onRate/offRate), "overhead-%")
	var unsealed int64
	if err := pgtest.Conn(b, onOwner).QueryRow(context.Background(), `
		SELECT count(*) FROM audit_log WHERE txid >= (SELECT max(sealed_below) FROM audit_chain)`).Scan(&unsealed); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(unsealed), "unsealed")
}

// benchSealEverySecond seals pool's audit chain every second, as the
// service does, until the benchmark ends. pool must be the schema owner's
// or the service role's.
func benchSealEverySecond(b *testing.B, pool *pgxpool.Pool) {
	b.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				if _, err := postgres.SealAuditChain(ctx, pool); err != nil && ctx.Err() == nil {
					b.Error(err)
					return
				}
			}
		}
	}()
	b.Cleanup(func() {
		cancel()
		<-done
	})
}

// benchHoldSnapshot opens a REPEATABLE READ transaction on a connection of
// its own to pool's database, takes its snapshot and keeps it until the
// benchmark ends.
func benchHoldSnapshot(b *testing.B, pool *pgxpool.Pool) {
	b.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pool.Config().ConnString())
	if err != nil {
		b.Fatal(err)
	}
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `SELECT 1`); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		tx.Rollback(ctx)
		conn.Close(ctx)
	})
}

const (
	benchClients     = 32
	benchRoundWrites = 3200 // 100 per client
	benchAdmin       = "e0000000-0000-4000-8000-00000000000e"
)

// benchAuditDB makes one database with 1024 patients and returns a pool of
// benchClients service-role connections to it, its patients and the
// owner's connection string.
func benchAuditDB(b *testing.B, chain bool) (*pgxpool.Pool, []string, string) {
	b.Helper()
	ctx := context.Background()
	db := pgtest.New(b)
	owner := pgtest.Conn(b, db.OwnerURL)
	if _, err := owner.Exec(ctx, `
		INSERT INTO patients (first_name, last_name, dob, gender)
		SELECT 'Bench', 'P' || i, '1980-01-01', 'OTHER' FROM generate_series(1, 1024) AS i`); err != nil {
		b.Fatal(err)
	}
	if !chain {
		if _, err := owner.Exec(ctx, `
			ALTER TABLE audit_log ALTER COLUMN txid SET DEFAULT 0;
			DROP INDEX idx_audit_log_txid`); err != nil {
			b.Fatal(err)
		}
	}
	rows, err := owner.Query(ctx, `SELECT id::text FROM patients ORDER BY id`)
	if err != nil {
		b.Fatal(err)
	}
	var patients []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			b.Fatal(err)
		}
		patients = append(patients, id)
	}
	if err := rows.Err(); err != nil {
		b.Fatal(err)
	}
	cfg, err := pgxpool.ParseConfig(db.AppURL)
	if err != nil {
		b.Fatal(err)
	}
	cfg.MaxConns, cfg.MinConns = benchClients, benchClients
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(pool.Close)
	benchAuditRound(b, pool, patients, -1) // warm every connection and plan
	return pool, patients, db.OwnerURL
}

// benchAuditRound runs benchRoundWrites audited writes from benchClients
// concurrent clients and returns how long they took.
func benchAuditRound(b *testing.B, pool *pgxpool.Pool, patients []string, round int) time.Duration {
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, benchClients)
	start := time.Now()
	for c := 0; c < benchClients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; n < benchRoundWrites/benchClients; n++ {
				// Each client has its own patients: the only contention
				// left is the audit log's.
				id := patients[(c+n*benchClients)%len(patients)]
				if err := benchAuditWrite(ctx, pool, id, fmt.Sprintf("555-%04d", (round*100+n)%10000)); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	return elapsed
}

func benchAuditWrite(ctx context.Context, pool *pgxpool.Pool, patient, phone string) error {
	tx, err := pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `SELECT set_config('app.user_id', $1, true), set_config('app.role', 'ADMIN', true)`, benchAdmin); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `UPDATE patients SET phone = $2 WHERE id = $1`, patient, phone); err != nil {
		return err
	}
	return tx.Commit(ctx)
}
