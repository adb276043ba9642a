package demo

import (
	"context"
	"log/slog"
	"time"
)

// rowSource is a pgx.CopyFromSource that makes its rows as COPY asks for
// them, so memory stays flat however many rows a table gets. pgx encodes
// rows on a goroutine of its own while the connection goroutine writes to
// the socket, so generating here already overlaps with sending; the server
// parsing and checking the rows is the other core's work.
type rowSource struct {
	ctx     context.Context
	table   string
	vals    []any
	next    func(vals []any) bool // fills vals with the next row; false at the end
	rows    int64
	started time.Time
	lastLog time.Time
	log     *slog.Logger
}

// progressEvery is how often a long COPY reports how far it has come.
const progressEvery = 5 * time.Second

func newRowSource(ctx context.Context, log *slog.Logger, table string, ncols int, next func([]any) bool) *rowSource {
	now := time.Now()
	return &rowSource{ctx: ctx, table: table, vals: make([]any, ncols), next: next, started: now, lastLog: now, log: log}
}

func (s *rowSource) Next() bool {
	if !s.next(s.vals) {
		return false
	}
	s.rows++
	if s.rows&0xffff == 0 {
		if now := time.Now(); now.Sub(s.lastLog) >= progressEvery {
			s.lastLog = now
			// Counts and rates only: never a generated value, which would be
			// personal data if it were real.
			s.log.InfoContext(s.ctx, "demo: loading", "table", s.table, "rows", s.rows,
				"rows_per_second", rate(s.rows, now.Sub(s.started)))
		}
	}
	return true
}

// Values returns the row Next made. pgx encodes it before calling Next
// again, so the one slice is reused for every row.
func (s *rowSource) Values() ([]any, error) { return s.vals, nil }

func (s *rowSource) Err() error { return nil }

func rate(rows int64, d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64(float64(rows) / d.Seconds())
}

var (
	userColumns         = []string{"id", "email", "password_hash", "role", "status"}
	doctorColumns       = []string{"id", "first_name", "last_name", "email", "phone", "specialty", "status", "user_id"}
	patientColumns      = []string{"id", "first_name", "last_name", "dob", "gender", "email", "phone", "status", "created_at", "updated_at"}
	careTeamColumns     = []string{"id", "patient_id", "user_id", "since", "created_at", "updated_at"}
	reportColumns       = []string{"id", "patient_id", "doctor_id", "title", "report_type", "storage_url", "summary", "report_date", "status", "created_at", "updated_at"}
	prescriptionColumns = []string{"id", "patient_id", "doctor_id", "drug_name", "dosage", "frequency", "route", "start_date", "end_date", "status", "created_at", "updated_at"}
)

// userRows: one CLINICIAN per doctor (the doctor's sign-in), then the nurses.
func (g *generator) userRows() func([]any) bool {
	r := newRNG()
	j := 0
	return func(v []any) bool {
		d := len(g.doctorIDs)
		switch {
		case j < d:
			_, doc := g.doctorAt(r, j)
			v[0], v[1], v[2], v[3] = g.doctorUserIDs[j], g.doctorEmail(j), unusableHash, "CLINICIAN"
			v[4] = "ACTIVE"
			if doc.status == "RETIRED" {
				v[4] = "SUSPENDED"
			}
		case j < d+g.nurses:
			n := j - d
			g.reseed(r, streamNurse, n)
			v[0], v[1], v[2], v[3], v[4] = uuid4(r), g.nurseEmail(n), unusableHash, "NURSE", "ACTIVE"
		default:
			return false
		}
		j++
		return true
	}
}

func (g *generator) doctorRows() func([]any) bool {
	r := newRNG()
	j := 0
	return func(v []any) bool {
		if j >= len(g.doctorIDs) {
			return false
		}
		_, d := g.doctorAt(r, j)
		v[0], v[1], v[2], v[3], v[4] = g.doctorIDs[j], d.first, d.last, g.doctorEmail(j), d.phone
		v[5], v[6], v[7] = d.specialty, d.status, g.doctorUserIDs[j]
		j++
		return true
	}
}

func (g *generator) patientRows() func([]any) bool {
	r := newRNG()
	i := 0
	return func(v []any) bool {
		if i >= g.patients {
			return false
		}
		p := g.patientAt(r, i)
		v[0], v[1], v[2], v[3], v[4] = p.id, p.first, p.last, p.dob, p.gender
		v[5] = g.patientEmail(&p, i)
		v[6] = nil
		if p.phone {
			v[6] = phone(r)
		}
		v[7], v[8], v[9] = p.status, p.created, p.created
		i++
		return true
	}
}

func (g *generator) careTeamRows() func([]any) bool {
	pr, r := newRNG(), newRNG()
	i, k := -1, 0
	var p patient
	return func(v []any) bool {
		for k >= p.nCare {
			if i++; i >= g.patients {
				return false
			}
			p = g.patientAt(pr, i)
			g.reseed(r, streamCareTeam, i)
			k = 0
		}
		v[0], v[1], v[2] = uuid4(r), p.id, g.doctorUserIDs[p.care[k]]
		v[3], v[4], v[5] = p.created, p.created, p.created
		k++
		return true
	}
}

// interleaveBlock is how many patients' reports (or prescriptions) are
// shuffled together before they are written.
const interleaveBlock = 16384

// perPatient makes count(p) child rows for every patient p. Patient i's rows
// come from its own generator, seeded with i, so they never depend on the
// patients before it.
//
// The rows are not written patient by patient: within each block of
// interleaveBlock patients they are shuffled (deterministically), so that a
// patient's records are spread over the table's pages the way records
// written over years are, instead of sitting side by side. Written in
// patient order, the heavy patient's 200 reports would fill a handful of
// pages and a benchmark reading them would measure an unrealistically
// friendly layout. Memory stays bounded by the block: about 3 MB.
func (g *generator) perPatient(stream uint64, count func(*patient) int, row func(r rng, p *patient, v []any)) func([]any) bool {
	type slot struct {
		p patient
		r rng
	}
	pr, shuffle := newRNG(), newRNG()
	slots := make([]slot, 0, min(interleaveBlock, g.patients))
	var order []int32 // slot index of each row of the block, shuffled
	next, pos, block := 0, 0, 0
	return func(v []any) bool {
		for pos >= len(order) {
			if next >= g.patients {
				return false
			}
			slots, order, pos = slots[:0], order[:0], 0
			for i := next; i < min(next+interleaveBlock, g.patients); i++ {
				k := len(slots)
				if k == cap(slots) {
					slots = append(slots, slot{})
				} else {
					slots = slots[:k+1]
				}
				s := &slots[k]
				if s.r.pcg == nil {
					s.r = newRNG()
				}
				s.p = g.patientAt(pr, i)
				g.reseed(s.r, stream, i)
				for n := count(&s.p); n > 0; n-- {
					order = append(order, int32(k))
				}
			}
			next += interleaveBlock
			g.reseed(shuffle, stream+0x80, block)
			block++
			shuffle.Shuffle(len(order), func(a, b int) { order[a], order[b] = order[b], order[a] })
		}
		s := &slots[order[pos]]
		pos++
		row(s.r, &s.p, v)
		return true
	}
}

func (g *generator) reportRows() func([]any) bool {
	return g.perPatient(streamReport, func(p *patient) int { return p.nReports }, func(r rng, p *patient, v []any) {
		id := uuid4(r)
		doc := g.authorFor(r, p)
		kind := pick(r, reportKinds)
		date := dayIn(r, g.clinicalFrom(p), g.today)
		age := daysBetween(date, g.today)
		x := r.IntN(100)
		var status string
		switch {
		case age < 30 && x < 30:
			status = "PROCESSING"
		case age < 30 && x < 70:
			status = "COMPLETED"
		case age < 30:
			status = "REVIEWED"
		case age > 730 && x < 40:
			status = "ARCHIVED"
		case x < 80:
			status = "REVIEWED"
		default:
			status = "COMPLETED"
		}
		var summary any // a summary is written once the document is processed
		if status != "PROCESSING" {
			summary = pick(r, kind.summaries)
		}
		created := g.stampOn(r, date)
		v[0], v[1], v[2], v[3], v[4] = id, p.id, doc, kind.title, kind.typ
		v[5], v[6], v[7], v[8] = "demo://reports/"+uuidString(id), summary, date, status
		v[9], v[10] = created, created
	})
}

func (g *generator) prescriptionRows() func([]any) bool {
	return g.perPatient(streamPrescription, func(p *patient) int { return p.nRx }, func(r rng, p *patient, v []any) {
		id := uuid4(r)
		doc := g.authorFor(r, p)
		d := pick(r, drugs)
		from := g.clinicalFrom(p)
		yesterday := addDays(g.today, -1)
		var status string
		var start time.Time
		var end any
		switch x := r.IntN(100); {
		case x < 30 && p.status != "DECEASED":
			status = "ACTIVE"
			start = dayIn(r, maxTime(from, addDays(g.today, -730)), g.today)
			switch y := r.IntN(100); {
			case y < 20: // long-term medication, no end date
			case y < 35: // ends within the week: the "expiring soon" list
				end = addDays(g.today, r.IntN(8))
			default:
				end = addDays(g.today, 8+r.IntN(173))
			}
		case x < 85:
			status = "COMPLETED"
			start = dayIn(r, from, yesterday)
			last := addDays(start, 180)
			if last.After(yesterday) {
				last = yesterday
			}
			end = dayIn(r, start, last)
		default:
			status = "CANCELLED"
			start = dayIn(r, from, yesterday)
			if r.IntN(3) != 0 {
				e := addDays(start, r.IntN(15))
				if e.After(g.today) {
					e = g.today
				}
				end = e
			}
		}
		if start.After(g.today) { // only for a patient born today; keeps the CHECK true
			start = g.today
		}
		created := g.stampOn(r, start)
		v[0], v[1], v[2], v[3], v[4] = id, p.id, doc, d.name, pick(r, d.dosages)
		v[5], v[6], v[7], v[8], v[9] = pick(r, d.frequencies), d.route, start, end, status
		v[10], v[11] = created, created
	})
}
