package demo

import (
	"encoding/hex"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// Every record is a pure function of (seed, load, stream, index): each table's
// rows for patient i come from their own generator seeded with i. That is
// what lets patients, care_team, medical_reports and prescriptions be
// streamed one after the other without keeping anything in memory: the
// reports stream recomputes patient i (its id, date of birth and care team)
// instead of remembering it, and the output is the same for the same seed
// whatever the order or batch sizes.
const (
	streamPatient uint64 = iota + 1
	streamDoctor
	streamNurse
	streamReport
	streamPrescription
	streamCareTeam
)

// demoDomain ends every e-mail address the loader writes. The .invalid
// top-level domain is reserved (RFC 2606) and can never belong to a real
// person, so it is also how a demo record is told from a real one.
const demoDomain = "@demo.medrec.invalid"

// unusableHash is a valid bcrypt hash (cost 12) of 48 random bytes that were
// thrown away when it was made: no password matches it, so nobody can sign
// in as a demo user until an administrator sets a password. A fixed hash
// also keeps the load from spending bcrypt time per user.
const unusableHash = "$2a$12$SqdEleiKkhvuG8BNvevvqutqDtc6b2dHYmkGqEMfKsfWdbh7ZDWJa"

// heavyRows is how many reports and how many prescriptions a heavy patient
// has: the worst case the patient-record benchmark reads.
const heavyRows = 200

var (
	dobFirst = time.Date(1930, 1, 1, 0, 0, 0, 0, time.UTC)
	dobLast  = time.Date(2024, 12, 31, 0, 0, 0, 0, time.UTC)
)

// generator holds what every stream shares. It is read-only once built, so
// the streams may run on any goroutine.
type generator struct {
	seed     uint64 // Options.Seed mixed with the load number
	tag      string // e-mail suffix part that keeps later loads' addresses apart
	today    time.Time
	now      time.Time // latest created_at; never in the future
	patients int
	heavy    int
	reports  int // average per ordinary patient
	rx       int // average per ordinary patient

	doctorIDs     [][16]byte
	doctorUserIDs [][16]byte
	doctorActive  []int // indices of ACTIVE doctors: care teams are drawn from them
	nurses        int
}

// rng is one reusable generator; reseeding it costs nothing, so a stream
// keeps one and reseeds it per record group.
type rng struct {
	pcg *rand.PCG
	*rand.Rand
}

func newRNG() rng {
	p := rand.NewPCG(0, 0)
	return rng{pcg: p, Rand: rand.New(p)}
}

// splitmix64 spreads seeds so that neighbouring indices give unrelated streams.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

func (g *generator) reseed(r rng, stream uint64, i int) {
	r.pcg.Seed(splitmix64(g.seed^splitmix64(stream)), splitmix64(uint64(i)+stream<<56))
}

// uuid4 draws a random (version 4) UUID: synthetic rows need uniqueness, not
// unpredictability, and drawing them here lets rows reference each other
// without reading anything back from the database.
func uuid4(r rng) [16]byte {
	var u [16]byte
	a, b := r.Uint64(), r.Uint64()
	for k := 0; k < 8; k++ {
		u[k] = byte(a >> (56 - 8*k))
		u[8+k] = byte(b >> (56 - 8*k))
	}
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return u
}

func uuidString(u [16]byte) string {
	var b [36]byte
	hex.Encode(b[0:8], u[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], u[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], u[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], u[8:10])
	b[23] = '-'
	hex.Encode(b[24:], u[10:])
	return string(b[:])
}

func pick[T any](r rng, s []T) T { return s[r.IntN(len(s))] }

func addDays(t time.Time, d int) time.Time { return t.AddDate(0, 0, d) }

func daysBetween(a, b time.Time) int { return int(b.Sub(a).Hours() / 24) }

// dayIn returns a date uniformly in [lo, hi] (hi < lo gives lo).
func dayIn(r rng, lo, hi time.Time) time.Time {
	n := daysBetween(lo, hi)
	if n <= 0 {
		return lo
	}
	return addDays(lo, r.IntN(n+1))
}

// stampOn is a moment during the working day of date d, but never later
// than now.
func (g *generator) stampOn(r rng, d time.Time) time.Time {
	t := d.Add(7*time.Hour + time.Duration(r.IntN(11*3600))*time.Second)
	if t.After(g.now) {
		return g.now
	}
	return t
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// phone is a number reserved for fiction: NANP 555-01xx lines, or the UK's
// 07700 900xxx drama range. At most 15 characters.
func phone(r rng) string {
	if r.IntN(3) == 0 {
		return "+44 7700 900" + pad(r.IntN(1000), 3)
	}
	return "+1 " + strconv.Itoa(201+r.IntN(780)) + "-555-01" + pad(r.IntN(100), 2)
}

func pad(n, width int) string {
	s := strconv.Itoa(n)
	for len(s) < width {
		s = "0" + s
	}
	return s
}

// emailPart folds a name to the lower-case letters an address is made of.
func emailPart(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z':
			b.WriteByte(c)
		case c >= 'A' && c <= 'Z':
			b.WriteByte(c + 'a' - 'A')
		}
	}
	return b.String()
}

// patient is what the streams need to know about patient i. It is
// recomputed, never stored.
type patient struct {
	id          [16]byte
	first, last string
	gender      string
	dob         time.Time
	status      string
	created     time.Time
	phone       bool
	nReports    int
	nRx         int
	care        [2]int // doctor indices
	nCare       int
}

// patientAt computes patient i. The draws happen in a fixed order, so every
// stream that asks gets the same patient.
func (g *generator) patientAt(r rng, i int) patient {
	g.reseed(r, streamPatient, i)
	var p patient
	p.id = uuid4(r)
	switch x := r.IntN(100); {
	case x < 49:
		p.gender, p.first = "FEMALE", pick(r, firstNamesFemale)
	case x < 98:
		p.gender, p.first = "MALE", pick(r, firstNamesMale)
	default:
		p.gender, p.first = "OTHER", pick(r, firstNamesNeutral)
	}
	if r.IntN(20) == 0 { // some people of every gender carry a neutral name
		p.first = pick(r, firstNamesNeutral)
	}
	p.last = pick(r, lastNames)
	p.dob = dayIn(r, dobFirst, dobLast)
	switch x := r.IntN(100); {
	case x < 88:
		p.status = "ACTIVE"
	case x < 97:
		p.status = "INACTIVE"
	default:
		p.status = "DECEASED"
	}
	p.phone = r.IntN(10) != 0
	p.created = g.stampOn(r, dayIn(r, maxTime(p.dob, addDays(g.today, -10*365)), addDays(g.today, -1)))
	switch {
	case i < g.heavy:
		p.nReports, p.nRx, p.status = heavyRows, heavyRows, "ACTIVE"
	case i == g.heavy: // the ordinary patient: exactly the averages
		p.nReports, p.nRx, p.status = g.reports, g.rx, "ACTIVE"
	default:
		p.nReports, p.nRx = r.IntN(2*g.reports+1), r.IntN(2*g.rx+1)
	}
	if len(g.doctorActive) > 0 { // doctor 0 is always ACTIVE, so whenever there are doctors
		draw := func() int { return g.doctorActive[r.IntN(len(g.doctorActive))] }
		p.nCare = 1
		p.care[0] = draw()
		if r.IntN(10) < 3 {
			if d := draw(); d != p.care[0] {
				p.care[1] = d
				p.nCare = 2
			}
		}
	}
	return p
}

// authorFor is the doctor of one of patient p's reports or prescriptions:
// mostly one of the care team, sometimes a doctor they were referred to.
func (g *generator) authorFor(r rng, p *patient) [16]byte {
	if p.nCare > 0 && r.IntN(100) < 85 {
		return g.doctorIDs[p.care[r.IntN(p.nCare)]]
	}
	return g.doctorIDs[r.IntN(len(g.doctorIDs))]
}

// clinicalFrom is the first date a patient's records may carry: birth, or
// fifteen years ago for older patients (older records stayed on paper).
func (g *generator) clinicalFrom(p *patient) time.Time {
	return maxTime(p.dob, addDays(g.today, -15*365))
}

// doctor j, whose ids were drawn when the generator was built.
type doctor struct {
	first, last, specialty, status string
	phone                          string
}

func (g *generator) doctorAt(r rng, j int) (ids [2][16]byte, d doctor) {
	g.reseed(r, streamDoctor, j)
	ids[0], ids[1] = uuid4(r), uuid4(r)
	if r.IntN(2) == 0 {
		d.first = pick(r, firstNamesFemale)
	} else {
		d.first = pick(r, firstNamesMale)
	}
	d.last = pick(r, lastNames)
	d.specialty = pick(r, specialties)
	switch x := r.IntN(100); {
	case x < 90 || j == 0: // at least one doctor can author
		d.status = "ACTIVE"
	case x < 97:
		d.status = "ON_LEAVE"
	default:
		d.status = "RETIRED"
	}
	d.phone = phone(r)
	return ids, d
}

func (g *generator) doctorEmail(j int) string {
	return "dr." + strconv.Itoa(j+1) + g.tag + demoDomain
}

func (g *generator) nurseEmail(j int) string {
	return "nurse." + strconv.Itoa(j+1) + g.tag + demoDomain
}

func (g *generator) patientEmail(p *patient, i int) string {
	return emailPart(p.first) + "." + emailPart(p.last) + "." + strconv.Itoa(i+1) + g.tag + demoDomain
}
