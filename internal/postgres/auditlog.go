package postgres

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"

	"medrec"
	"medrec/internal/postgres/internal/dbsqlc"
)

// AuditService reads the audit log for an ADMIN (GET /audit).
type AuditService struct {
	db *DB
}

// NewAuditService returns the service on db.
func NewAuditService(db *DB) *AuditService { return &AuditService{db: db} }

var _ medrec.AuditService = (*AuditService)(nil)

// FindAuditEntries returns one page of the audit log, newest first. Row-
// level security lets an ADMIN read every row; the application refuses
// every other role first (EFORBIDDEN), so a CLINICIAN's narrower policy
// never turns this route into a second access log. Only the rows of
// medrec.AuditValueTables come with their values; every other table's
// (the clinical ones) only with the names of the changed fields.
// The read itself leaves one READ row on table audit_log (its details: the
// filter and the request id) in the same transaction.
func (s *AuditService) FindAuditEntries(ctx context.Context, f medrec.AuditFilter) ([]*medrec.AuditEntry, string, error) {
	if c := medrec.CallerFromContext(ctx); c == nil || !c.Can(medrec.PermAuditRead) {
		return nil, "", medrec.Errorf(medrec.EFORBIDDEN, "only an administrator reads the audit log")
	}
	if err := f.Validate(); err != nil {
		return nil, "", err
	}
	afterChanged, afterID, err := decodeCursor(f.Cursor)
	if err != nil {
		return nil, "", err
	}
	params := dbsqlc.AuditListParams{
		ValueTables: medrec.AuditValueTables,
		TableName:   nonEmpty(f.TableName), RecordID: nonEmpty(f.RecordID),
		UserID: nonEmpty(f.UserID), Action: nonEmpty(f.Action),
		FromTime: f.From, ToTime: f.To,
		AfterChanged: afterChanged, AfterID: afterID, MaxRows: int32(f.Limit + 1),
	}
	details, err := json.Marshal(map[string]any{
		"what": "audit_log", "request_id": medrec.RequestIDFromContext(ctx), "route": medrec.RouteFromContext(ctx),
		"filter": map[string]any{
			"table_name": f.TableName, "record_id": f.RecordID, "user_id": f.UserID,
			"action": f.Action, "from": f.From, "to": f.To, "cursor": f.Cursor != "",
		},
	})
	if err != nil {
		return nil, "", fmt.Errorf("audit the audit read: %w", err)
	}
	var (
		entries []*medrec.AuditEntry
		next    string
	)
	err = s.db.inTx(ctx, func(tx pgx.Tx) error {
		q := dbsqlc.New(tx)
		rows, err := q.AuditList(ctx, params)
		if err != nil {
			return translate(err)
		}
		if len(rows) > f.Limit {
			rows = rows[:f.Limit]
			last := rows[len(rows)-1]
			next = encodeCursor(last.ChangedAt, last.ID)
		}
		entries = make([]*medrec.AuditEntry, 0, len(rows))
		for _, r := range rows {
			e, err := auditEntryFromRow(r)
			if err != nil {
				return err
			}
			entries = append(entries, e)
		}
		// Written after the page is read, so a page never shows its own
		// READ row.
		if err := q.AuditRecordLogRead(ctx, details); err != nil {
			return fmt.Errorf("audit the audit read: %w", translate(err))
		}
		return nil
	})
	if err != nil {
		return nil, "", fmt.Errorf("list audit log: %w", err)
	}
	return entries, next, nil
}

func auditEntryFromRow(r dbsqlc.AuditListRow) (*medrec.AuditEntry, error) {
	e := &medrec.AuditEntry{
		ID: r.ID, TableName: r.TableName, RecordID: r.RecordID, Action: r.Action, UserID: r.UserID,
		ChangedAt: r.ChangedAt, PatientID: r.PatientID, EmergencyAccessID: r.EmergencyAccessID,
		ChangedFields: r.ChangedFields,
	}
	for _, v := range []struct {
		raw []byte
		dst any
	}{{r.OldValues, &e.OldValues}, {r.NewValues, &e.NewValues}, {r.Details, &e.Details}} {
		if len(v.raw) == 0 {
			continue
		}
		if err := json.Unmarshal(v.raw, v.dst); err != nil {
			return nil, fmt.Errorf("decode audit row %s: %w", r.ID, err)
		}
	}
	return e, nil
}

// nonEmpty is nil for "", for optional query parameters.
func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
