package main

import (
	"net/http"
	"slices"
	"testing"

	"medrec"
)

func TestPatientHistory(t *testing.T) {
	t.Parallel()
	e := newRxEnv(t)
	colleague := e.addDoctor("Jane", "Foster", "ACTIVE", "")
	r1 := e.ownerID(`INSERT INTO medical_reports (patient_id, doctor_id, title, report_type, storage_url, report_date, status)
		VALUES ($1, $2, 'Blood panel', 'LAB', 'local://r1', '2026-01-10', 'COMPLETED') RETURNING id`, e.patient, e.doctor)
	r2 := e.ownerID(`INSERT INTO medical_reports (patient_id, doctor_id, title, report_type, storage_url, report_date)
		VALUES ($1, $2, 'Chest X-ray', 'IMAGING', 'local://r2', '2026-03-01') RETURNING id`, e.patient, colleague)
	p1 := e.addPrescription(e.patient, e.doctor, "Amoxicillin", "ACTIVE", "current_date + 5")
	p2 := e.addPrescription(e.patient, colleague, "Ibuprofen", "ACTIVE", "current_date - 1") // expired: shown COMPLETED
	e.addPrescription(e.other, colleague, "Elsewhere", "ACTIVE", "NULL")                     // by e.doctor it would be "treated"

	// The history as a client reads it (the service passes its lists on as
	// JSON; the test client checks them against the OpenAPI document).
	type history struct {
		Patient       *medrec.Patient        `json:"patient"`
		Reports       []*medrec.Report       `json:"reports"`
		Prescriptions []*medrec.Prescription `json:"prescriptions"`
	}
	get := func(token, patientID string) (history, response) {
		t.Helper()
		r := e.call("GET", "/api/v1/patients/"+patientID+"/history", token, nil)
		var h history
		if r.status == http.StatusOK {
			r.json(t, &h)
		}
		return h, r
	}

	for name, tok := range map[string]string{"Clinician": e.clin, "Nurse": e.nurse} {
		h, r := get(tok, e.patient)
		if r.status != 200 {
			t.Fatalf("%s: %d %s", name, r.status, r.body)
		}
		if h.Patient == nil || h.Patient.ID != e.patient || h.Patient.FirstName != "Ada" || h.Patient.DOB.Format("2006-01-02") != "1970-05-06" {
			t.Fatalf("%s: patient %+v", name, h.Patient)
		}
		var reports, rx []string
		for _, rep := range h.Reports {
			reports = append(reports, rep.ID)
		}
		for _, p := range h.Prescriptions {
			rx = append(rx, p.ID)
		}
		// Newest report first; prescriptions by start date, then newest.
		if !slices.Equal(reports, []string{r2, r1}) || len(rx) != 2 || !slices.Contains(rx, p1) || !slices.Contains(rx, p2) {
			t.Fatalf("%s: reports %v, prescriptions %v", name, reports, rx)
		}
		if h.Reports[0].DoctorName != "Jane Foster" || h.Reports[0].Title != "Chest X-ray" || h.Reports[0].ReportType != "IMAGING" ||
			h.Reports[1].DoctorName != "Gregory House" || h.Reports[1].ReportDate.Format("2006-01-02") != "2026-01-10" {
			t.Errorf("%s: reports %+v %+v", name, h.Reports[0], h.Reports[1])
		}
		for _, p := range h.Prescriptions {
			want := map[string]string{p1: "ACTIVE", p2: "COMPLETED"}[p.ID]
			if p.Status != want || p.DoctorName == "" || p.Dosage != "10 mg" || p.CreatedAt.IsZero() {
				t.Errorf("%s: prescription %+v, want status %s", name, p, want)
			}
		}
	}
	if n := e.ownerInt(`SELECT count(*) FROM audit_log WHERE action = 'READ' AND table_name = 'patients' AND patient_id = $1
		AND new_values->>'what' = 'history'`, e.patient); n != 2 {
		t.Errorf("%d history READ rows, want 2", n)
	}

	t.Run("EmptyListsNotNulls", func(t *testing.T) {
		empty := e.addPatient("Empty", "Record")
		e.addToCareTeam(empty, e.ids["clin"])
		_, r := get(e.clin, empty)
		if r.status != 200 {
			t.Fatalf("%d %s", r.status, r.body)
		}
		var raw map[string]any
		r.json(t, &raw)
		if reps, ok := raw["reports"].([]any); !ok || len(reps) != 0 {
			t.Errorf("reports = %#v, want []", raw["reports"])
		}
		if rx, ok := raw["prescriptions"].([]any); !ok || len(rx) != 0 {
			t.Errorf("prescriptions = %#v, want []", raw["prescriptions"])
		}
	})
	t.Run("NotInCare", func(t *testing.T) {
		for _, id := range []string{e.other, missingID, "nope"} {
			if _, r := get(e.clin, id); r.status != 404 {
				t.Errorf("history of %s: %d", id, r.status)
			}
		}
		if _, r := get(e.admin, e.patient); r.status != 403 {
			t.Errorf("admin: %d", r.status)
		}
	})
}
