package main

import (
	"context"
	"database/sql"
	"strings"

	"github.com/jackc/pgx/v4"
	"github.com/jackc/pgx/v4/pgxpool"
	sqlite3 "github.com/mattn/go-sqlite3"
)

// rowsIter is what both drivers' result sets offer.
type rowsIter interface {
	Next() bool
	Scan(dest ...interface{}) error
	Err() error
	Close()
}

// querier runs SQL written with PostgreSQL's $n placeholders on either engine.
type querier interface {
	query(ctx context.Context, sql string, args ...interface{}) (rowsIter, error)
	exec(ctx context.Context, sql string, args ...interface{}) error
}

// store runs reads on one pooled connection and writes as one transaction, as
// Swiftlet's SQLExecutor.read and .transaction do.
type store interface {
	read(ctx context.Context, body func(querier) error) error
	write(ctx context.Context, body func(querier) error) error
}

// PostgreSQL: a pgx pool of POOL_SIZE connections, read committed (the default, as
// Swiftlet), synchronous_commit as the server has it (on by default).
type postgresStore struct{ pool *pgxpool.Pool }

type postgresQuerier struct {
	query_ func(ctx context.Context, sql string, args ...interface{}) (pgx.Rows, error)
	exec_  func(ctx context.Context, sql string, args ...interface{}) error
}

func (q postgresQuerier) query(ctx context.Context, sql string, args ...interface{}) (rowsIter, error) {
	return q.query_(ctx, sql, args...)
}

func (q postgresQuerier) exec(ctx context.Context, sql string, args ...interface{}) error {
	return q.exec_(ctx, sql, args...)
}

func openPostgres(url string, size int) (store, error) {
	config, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, err
	}
	config.MaxConns = int32(size)
	config.MinConns = int32(size)
	pool, err := pgxpool.ConnectConfig(context.Background(), config)
	if err != nil {
		return nil, err
	}
	return &postgresStore{pool: pool}, nil
}

func (s *postgresStore) read(ctx context.Context, body func(querier) error) error {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	return body(postgresQuerier{query_: conn.Query, exec_: func(ctx context.Context, sql string, args ...interface{}) error {
		_, err := conn.Exec(ctx, sql, args...)
		return err
	}})
}

func (s *postgresStore) write(ctx context.Context, body func(querier) error) error {
	return s.pool.BeginFunc(ctx, func(tx pgx.Tx) error {
		return body(postgresQuerier{query_: tx.Query, exec_: func(ctx context.Context, sql string, args ...interface{}) error {
			_, err := tx.Exec(ctx, sql, args...)
			return err
		}})
	})
}

// SQLite: Swiftlet's settings (SQLiteStorage.configure): WAL, synchronous=FULL,
// busy_timeout 5000 ms, foreign_keys on; one writer connection whose transactions begin
// IMMEDIATE; READERS read-only connections (query_only).
type sqliteStore struct{ writer, readers *sql.DB }

type sqliteQuerier struct {
	query_ func(ctx context.Context, sql string, args ...interface{}) (*sql.Rows, error)
	exec_  func(ctx context.Context, sql string, args ...interface{}) (sql.Result, error)
}

type sqliteRows struct{ *sql.Rows }

func (r sqliteRows) Close() { r.Rows.Close() }

// SQLite reads $n as a named parameter bound by first appearance; ?n binds by number.
func sqliteText(text string) string { return strings.ReplaceAll(text, "$", "?") }

func (q sqliteQuerier) query(ctx context.Context, text string, args ...interface{}) (rowsIter, error) {
	rows, err := q.query_(ctx, sqliteText(text), args...)
	if err != nil {
		return nil, err
	}
	return sqliteRows{rows}, nil
}

func (q sqliteQuerier) exec(ctx context.Context, text string, args ...interface{}) error {
	_, err := q.exec_(ctx, sqliteText(text), args...)
	return err
}

func init() {
	sql.Register("sqlite3_query_only", &sqlite3.SQLiteDriver{ConnectHook: func(conn *sqlite3.SQLiteConn) error {
		_, err := conn.Exec("PRAGMA query_only = ON", nil)
		return err
	}})
}

func openSQLite(path string, readers int) (store, error) {
	settings := "?_busy_timeout=5000&_synchronous=FULL&_foreign_keys=1"
	writer, err := sql.Open("sqlite3", "file:"+path+settings+"&_journal_mode=WAL&_txlock=immediate")
	if err != nil {
		return nil, err
	}
	writer.SetMaxOpenConns(1)
	writer.SetMaxIdleConns(1)
	writer.SetConnMaxLifetime(0)
	var mode string
	if err := writer.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		if err == nil {
			err = errNotWAL
		}
		return nil, err
	}
	reader, err := sql.Open("sqlite3_query_only", "file:"+path+settings)
	if err != nil {
		return nil, err
	}
	reader.SetMaxOpenConns(readers)
	reader.SetMaxIdleConns(readers)
	reader.SetConnMaxLifetime(0)
	return &sqliteStore{writer: writer, readers: reader}, nil
}

var errNotWAL = &apiError{500, "storage.sqlite_wal", "could not enable WAL"}

func (s *sqliteStore) read(ctx context.Context, body func(querier) error) error {
	conn, err := s.readers.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return body(sqliteQuerier{query_: conn.QueryContext, exec_: conn.ExecContext})
}

func (s *sqliteStore) write(ctx context.Context, body func(querier) error) error {
	tx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := body(sqliteQuerier{query_: tx.QueryContext, exec_: tx.ExecContext}); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}
