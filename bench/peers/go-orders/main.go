// Go peer for bench/orders-peers.sh and scripts/peer-equivalence.sh: Swiftlet's
// GET /api/v1/products (first catalogue page) and POST /api/v1/orders doing the same
// database work on the same schema (Swiftlet's migrations), on PostgreSQL with pgx v4 or
// on SQLite with go-sqlite3 (Debian packages, GOPATH mode; build.sh).
//
// Environment: PORT (default 8120), DATABASE (a postgres:// URL or a SQLite file path),
// JWT_SECRET (Swiftlet's auth.jwt.secret), JWT_KID (default k1), JWT_ISSUER (swiftlet),
// JWT_AUDIENCE (swiftlet-miniprogram), POOL_SIZE (PostgreSQL connections, default 10 as
// Swiftlet's storage.postgres.poolSize), READERS (SQLite read connections, default 4 as
// Swiftlet's storage.sqlite.readers).
package main

import (
	"log"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

func env(name, fallback string) string {
	if value := os.Getenv(name); value != "" {
		return value
	}
	return fallback
}

func envInt(name string, fallback int) int {
	value, err := strconv.Atoi(env(name, strconv.Itoa(fallback)))
	if err != nil {
		log.Fatalf("%s must be an integer", name)
	}
	return value
}

func main() {
	database := os.Getenv("DATABASE")
	secret := os.Getenv("JWT_SECRET")
	if database == "" || len(secret) < 32 {
		log.Fatal("set DATABASE (postgres:// URL or SQLite path) and JWT_SECRET (at least 32 bytes)")
	}
	var store store
	var err error
	if strings.HasPrefix(database, "postgres://") || strings.HasPrefix(database, "postgresql://") {
		store, err = openPostgres(database, envInt("POOL_SIZE", 10))
	} else {
		store, err = openSQLite(database, envInt("READERS", 4))
	}
	if err != nil {
		log.Fatal(err)
	}
	app := &app{
		store: store,
		tokens: newVerifier([]byte(secret), env("JWT_KID", "k1"), env("JWT_ISSUER", "swiftlet"),
			env("JWT_AUDIENCE", "swiftlet-miniprogram"), 30*time.Second),
		unpaidTimeout:      900 * time.Second,
		maxQuantityPerItem: 99,
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/api/v1/products", app.products)
	mux.HandleFunc("/api/v1/orders", app.orders)
	server := &http.Server{Addr: "127.0.0.1:" + env("PORT", "8120"), Handler: mux}
	log.Fatal(server.ListenAndServe())
}
