import SwiftletMigrations

/// SQLite schema, version for version and name for name the same list as
/// `PostgresMigrations.all` (a test enforces it). Tables are STRICT so a wrong type is
/// an error, as it would be on PostgreSQL.
public enum SQLiteMigrations {
    public static let all: [Migration] = [
        Migration(version: 1, name: "create_users", statements: [
            """
            CREATE TABLE users (
                id TEXT PRIMARY KEY,
                openid TEXT NOT NULL UNIQUE,
                unionid TEXT,
                nickname TEXT,
                avatar_url TEXT,
                phone TEXT,
                created_at INTEGER NOT NULL,
                updated_at INTEGER NOT NULL
            ) STRICT
            """,
            "CREATE INDEX users_unionid ON users (unionid) WHERE unionid IS NOT NULL",
        ]),
        Migration(version: 2, name: "create_sessions_and_admin_keys", statements: [
            """
            CREATE TABLE sessions (
                id TEXT PRIMARY KEY,
                user_id TEXT NOT NULL REFERENCES users (id),
                device TEXT,
                created_at INTEGER NOT NULL,
                last_used_at INTEGER NOT NULL,
                expires_at INTEGER NOT NULL,
                revoked_at INTEGER,
                revoke_reason TEXT
            ) STRICT
            """,
            "CREATE INDEX sessions_user ON sessions (user_id, created_at)",
            """
            CREATE TABLE refresh_tokens (
                token_hash TEXT PRIMARY KEY,
                session_id TEXT NOT NULL REFERENCES sessions (id),
                status TEXT NOT NULL CHECK (status IN ('active', 'rotated', 'revoked')),
                created_at INTEGER NOT NULL,
                expires_at INTEGER NOT NULL
            ) STRICT
            """,
            "CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id)",
            """
            CREATE TABLE revocations (
                kind TEXT NOT NULL,
                value TEXT NOT NULL,
                expires_at INTEGER NOT NULL,
                PRIMARY KEY (kind, value)
            ) STRICT
            """,
            "CREATE INDEX revocations_expiry ON revocations (expires_at)",
            """
            CREATE TABLE admin_keys (
                id TEXT PRIMARY KEY,
                name TEXT NOT NULL,
                key_hash TEXT NOT NULL UNIQUE,
                created_at INTEGER NOT NULL,
                last_used_at INTEGER,
                revoked_at INTEGER
            ) STRICT
            """,
            "CREATE UNIQUE INDEX admin_keys_active_name ON admin_keys (name) WHERE revoked_at IS NULL",
        ]),
    ]
}
