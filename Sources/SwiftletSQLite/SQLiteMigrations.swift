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
    ]
}
