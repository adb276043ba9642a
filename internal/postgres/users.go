package postgres

import (
	"context"
	"fmt"

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
