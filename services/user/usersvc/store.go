package usersvc

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/acme/bff-gateway/internal/apperr"
	"github.com/acme/bff-gateway/internal/contract"
	"github.com/acme/bff-gateway/internal/seed"
	"github.com/acme/bff-gateway/services/internal/sqlitedb"
)

// store keeps users in SQLite.
type store struct {
	db *sql.DB
}

const userColumns = `id, email, name, first_name, role, avatar_url, created_at`

func scanUser(row interface{ Scan(...any) error }, extra ...any) (contract.User, error) {
	var u contract.User
	var created string
	dest := append([]any{&u.ID, &u.Email, &u.Name, &u.FirstName, &u.Role, &u.AvatarURL, &created}, extra...)
	if err := row.Scan(dest...); err != nil {
		return contract.User{}, err
	}
	t, err := sqlitedb.ParseTime(created)
	if err != nil {
		return contract.User{}, fmt.Errorf("parse created_at of %s: %w", u.ID, err)
	}
	u.CreatedAt = t
	return u, nil
}

// byID returns one user, or NotFound.
func (s *store) byID(ctx context.Context, id string) (contract.User, error) {
	u, err := scanUser(s.db.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return contract.User{}, apperr.New(apperr.NotFound, "user not found")
	}
	if err != nil {
		return contract.User{}, fmt.Errorf("read user: %w", err)
	}
	return u, nil
}

// byIDs returns the users found, keyed by id.
func (s *store) byIDs(ctx context.Context, ids []string) (map[string]contract.User, error) {
	in, args := sqlitedb.InList(ids)
	q := `SELECT ` + userColumns + ` FROM users WHERE id IN (` + in + `)`
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("read users: %w", err)
	}
	defer rows.Close()
	found := make(map[string]contract.User, len(ids))
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("read users: %w", err)
		}
		found[u.ID] = u
	}
	return found, rows.Err()
}

// byEmail returns a user with its password hash, or NotFound.
func (s *store) byEmail(ctx context.Context, email string) (contract.User, string, error) {
	var hash string
	u, err := scanUser(s.db.QueryRowContext(ctx,
		`SELECT `+userColumns+`, password_hash FROM users WHERE email = ?`, email), &hash)
	if errors.Is(err, sql.ErrNoRows) {
		return contract.User{}, "", apperr.New(apperr.NotFound, "user not found")
	}
	if err != nil {
		return contract.User{}, "", fmt.Errorf("read user: %w", err)
	}
	return u, hash, nil
}

// count returns the number of users.
func (s *store) count(ctx context.Context) (int, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM users`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count users: %w", err)
	}
	return n, nil
}

// seedIfEmpty inserts the seed users in one transaction when the table is
// empty. Fixed accounts are hashed each; generated users share one hash of
// their common password, so that seeding stays fast.
func (s *store) seedIfEmpty(ctx context.Context, n, cost int, anchor time.Time) (bool, error) {
	return sqlitedb.SeedIfEmpty(ctx, s.db, "users", func(tx *sql.Tx) error {
		hashes := map[string]string{}
		hashOf := func(pw string) (string, error) {
			if h, ok := hashes[pw]; ok {
				return h, nil
			}
			h, err := bcrypt.GenerateFromPassword([]byte(pw), cost)
			if err != nil {
				return "", fmt.Errorf("hash password: %w", err)
			}
			hashes[pw] = string(h)
			return string(h), nil
		}
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO users (id, email, name, first_name, role, avatar_url, password_hash, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return fmt.Errorf("seed users: %w", err)
		}
		defer stmt.Close()
		for _, u := range seed.Users(n, anchor) {
			h, err := hashOf(u.Password)
			if err != nil {
				return err
			}
			if _, err := stmt.ExecContext(ctx, u.ID, u.Email, u.Name, u.FirstName, u.Role, u.AvatarURL, h, u.CreatedAt.Format(time.RFC3339)); err != nil {
				return fmt.Errorf("seed user %s: %w", u.ID, err)
			}
		}
		return nil
	})
}
