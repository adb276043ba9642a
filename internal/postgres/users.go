package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"medrec"
	"medrec/internal/postgres/internal/dbsqlc"
)

// UserService stores users. It implements medrec.UserService.
type UserService struct{ db *DB }

// NewUserService returns a UserService on db.
func NewUserService(db *DB) *UserService { return &UserService{db: db} }

var _ medrec.UserService = (*UserService)(nil)

// CreateUser stores a new user with an already hashed password.
func (s *UserService) CreateUser(ctx context.Context, u medrec.NewUser, passwordHash string) (*medrec.User, error) {
	if err := u.Validate(); err != nil {
		return nil, err
	}
	var user *medrec.User
	err := s.db.inTx(ctx, func(tx pgx.Tx) error {
		row, err := dbsqlc.New(tx).UserCreate(ctx, dbsqlc.UserCreateParams{
			Email: u.Email, PasswordHash: passwordHash, Role: string(u.Role),
		})
		if err != nil {
			return userError(err)
		}
		user = &medrec.User{
			ID: row.ID, Email: row.Email, Role: medrec.Role(row.Role),
			Status: medrec.UserStatus(row.Status), CreatedAt: row.CreatedAt, UpdatedAt: row.UpdatedAt,
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("create user: %w", err)
	}
	return user, nil
}

// CreateFirstAdmin creates an ADMIN when the users table is empty.
func (s *UserService) CreateFirstAdmin(ctx context.Context, email string, hash func() (string, error)) (bool, error) {
	var created bool
	err := s.db.inTx(ctx, func(tx pgx.Tx) error {
		q := dbsqlc.New(tx)
		if err := q.UserLockFirstAdmin(ctx); err != nil {
			return translate(err)
		}
		count, err := q.UserCount(ctx)
		if err != nil || count > 0 {
			return translate(err)
		}
		passwordHash, err := hash()
		if err != nil {
			return err
		}
		n, err := q.UserCreateIfNone(ctx, dbsqlc.UserCreateIfNoneParams{Email: email, PasswordHash: passwordHash})
		if err != nil {
			return userError(err)
		}
		created = n == 1
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("create first administrator: %w", err)
	}
	return created, nil
}

// userError names the field behind a duplicate email, whatever index caught it.
func userError(err error) error {
	err = translate(err)
	if medrec.ErrorCode(err) == medrec.ECONFLICT {
		return &medrec.Error{Code: medrec.ECONFLICT, Message: "a user with this email already exists",
			Fields: []medrec.FieldError{{Field: "email", Message: "is already in use"}}, Err: err}
	}
	return err
}

// FindUserByID returns one user.
func (s *UserService) FindUserByID(ctx context.Context, id string) (*medrec.User, error) {
	if !medrec.IsUUID(id) {
		return nil, medrec.Errorf(medrec.ENOTFOUND, "user not found")
	}
	row, err := dbsqlc.New(s.db.pool).UserGet(ctx, id)
	if err != nil {
		if medrec.ErrorCode(translate(err)) == medrec.ENOTFOUND {
			return nil, medrec.Errorf(medrec.ENOTFOUND, "user not found")
		}
		return nil, fmt.Errorf("load user %s: %w", id, translate(err))
	}
	return &medrec.User{
		ID: row.ID, Email: row.Email, Role: medrec.Role(row.Role), Status: medrec.UserStatus(row.Status),
		DoctorID: row.DoctorID, MFAEnabled: row.MfaEnabled, CreatedAt: row.CreatedAt, UpdatedAt: row.UpdatedAt,
	}, nil
}

// FindUsers lists users newest first.
func (s *UserService) FindUsers(ctx context.Context, f medrec.UserFilter) ([]*medrec.User, string, error) {
	if err := f.Normalize(); err != nil {
		return nil, "", err
	}
	afterCreated, afterID, err := decodeCursor(f.Cursor)
	if err != nil {
		return nil, "", err
	}
	params := dbsqlc.UserListParams{AfterCreated: afterCreated, AfterID: afterID, MaxRows: int32(f.Limit + 1)}
	if f.Role != nil {
		params.Role = ptr(string(*f.Role))
	}
	if f.Status != nil {
		params.Status = ptr(string(*f.Status))
	}
	rows, err := dbsqlc.New(s.db.pool).UserList(ctx, params)
	if err != nil {
		return nil, "", fmt.Errorf("list users: %w", translate(err))
	}
	next := ""
	if len(rows) > f.Limit {
		rows = rows[:f.Limit]
		last := rows[len(rows)-1]
		next = encodeCursor(last.CreatedAt, last.ID)
	}
	users := make([]*medrec.User, 0, len(rows))
	for _, r := range rows {
		users = append(users, &medrec.User{
			ID: r.ID, Email: r.Email, Role: medrec.Role(r.Role), Status: medrec.UserStatus(r.Status),
			DoctorID: r.DoctorID, MFAEnabled: r.MfaEnabled, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
		})
	}
	return users, next, nil
}

// UpdateUser changes a user's role or status, conditionally on ifMatch. The
// audit trigger records who did it, and revoke_user_sessions ends the
// user's sessions.
func (s *UserService) UpdateUser(ctx context.Context, id string, u medrec.UserUpdate, ifMatch *time.Time) (*medrec.User, error) {
	if err := u.Validate(); err != nil {
		return nil, err
	}
	c := medrec.CallerFromContext(ctx)
	if c != nil && c.UserID == id {
		return nil, medrec.Errorf(medrec.EFORBIDDEN, "nobody may change their own role or status")
	}
	if !medrec.IsUUID(id) {
		return nil, medrec.Errorf(medrec.ENOTFOUND, "user not found")
	}
	params := dbsqlc.UserUpdateParams{ID: id, IfMatch: ifMatch}
	if u.Role != nil {
		params.Role = ptr(string(*u.Role))
	}
	if u.Status != nil {
		params.Status = ptr(string(*u.Status))
	}
	err := s.db.inTx(ctx, func(tx pgx.Tx) error {
		q := dbsqlc.New(tx)
		_, err := q.UserUpdate(ctx, params)
		if err = translate(err); medrec.ErrorCode(err) == medrec.ENOTFOUND && ifMatch != nil {
			// No row matched: the user is gone, or If-Match kept it
			// from matching. A failure to look is that failure, not a
			// 404.
			_, gerr := q.UserGet(ctx, id)
			if gerr == nil {
				return medrec.Errorf(medrec.EPRECONDITION, "the user changed since the version in If-Match")
			}
			return translate(gerr)
		}
		return err
	})
	if medrec.ErrorCode(err) == medrec.ENOTFOUND {
		return nil, medrec.Errorf(medrec.ENOTFOUND, "user not found")
	}
	if err != nil {
		return nil, fmt.Errorf("update user %s: %w", id, err)
	}
	return s.FindUserByID(ctx, id)
}
