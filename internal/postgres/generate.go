package postgres

//go:generate sqlc generate
