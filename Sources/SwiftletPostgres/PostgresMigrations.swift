import SwiftletMigrations

/// PostgreSQL schema, version for version and name for name the same list as
/// `SQLiteMigrations.all` (a test enforces it).
public enum PostgresMigrations {
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
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL
            )
            """,
            "CREATE INDEX users_unionid ON users (unionid) WHERE unionid IS NOT NULL",
        ]),
    ]
}
