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
        Migration(version: 2, name: "create_sessions_and_admin_keys", statements: [
            """
            CREATE TABLE sessions (
                id TEXT PRIMARY KEY,
                user_id TEXT NOT NULL REFERENCES users (id),
                device TEXT,
                created_at BIGINT NOT NULL,
                last_used_at BIGINT NOT NULL,
                expires_at BIGINT NOT NULL,
                revoked_at BIGINT,
                revoke_reason TEXT
            )
            """,
            "CREATE INDEX sessions_user ON sessions (user_id, created_at)",
            """
            CREATE TABLE refresh_tokens (
                token_hash TEXT PRIMARY KEY,
                session_id TEXT NOT NULL REFERENCES sessions (id),
                status TEXT NOT NULL CHECK (status IN ('active', 'rotated', 'revoked')),
                created_at BIGINT NOT NULL,
                expires_at BIGINT NOT NULL
            )
            """,
            "CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id)",
            """
            CREATE TABLE revocations (
                kind TEXT NOT NULL,
                value TEXT NOT NULL,
                expires_at BIGINT NOT NULL,
                PRIMARY KEY (kind, value)
            )
            """,
            "CREATE INDEX revocations_expiry ON revocations (expires_at)",
            """
            CREATE TABLE admin_keys (
                id TEXT PRIMARY KEY,
                name TEXT NOT NULL,
                key_hash TEXT NOT NULL UNIQUE,
                created_at BIGINT NOT NULL,
                last_used_at BIGINT,
                revoked_at BIGINT
            )
            """,
            "CREATE UNIQUE INDEX admin_keys_active_name ON admin_keys (name) WHERE revoked_at IS NULL",
        ]),
        // Commerce: catalogue, orders with stock reservation, refunds, the append-only
        // payment ledger (a trigger refuses UPDATE and DELETE), and the durable job queue.
        Migration(version: 3, name: "create_commerce", statements: [
            """
            CREATE TABLE products (
                id TEXT PRIMARY KEY,
                title TEXT NOT NULL,
                description TEXT NOT NULL,
                image_url TEXT,
                on_shelf BOOLEAN NOT NULL,
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL,
                deleted_at BIGINT
            )
            """,
            "CREATE INDEX products_listing ON products (created_at, id) WHERE deleted_at IS NULL",
            """
            CREATE TABLE skus (
                id TEXT PRIMARY KEY,
                product_id TEXT NOT NULL REFERENCES products (id),
                title TEXT NOT NULL,
                price_fen BIGINT NOT NULL CHECK (price_fen > 0),
                stock BIGINT NOT NULL CHECK (stock >= 0),
                position BIGINT NOT NULL,
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL
            )
            """,
            "CREATE INDEX skus_product ON skus (product_id, position)",
            """
            CREATE TABLE orders (
                id TEXT PRIMARY KEY,
                user_id TEXT NOT NULL REFERENCES users (id),
                out_trade_no TEXT NOT NULL UNIQUE,
                status TEXT NOT NULL CHECK (status IN ('pending_payment', 'paid', 'shipped', 'completed', 'cancelled', 'refunding', 'refunded')),
                total_fen BIGINT NOT NULL CHECK (total_fen > 0),
                refunded_fen BIGINT NOT NULL CHECK (refunded_fen >= 0 AND refunded_fen <= total_fen),
                expires_at BIGINT NOT NULL,
                prepay_id TEXT,
                prepay_expires_at BIGINT,
                transaction_id TEXT,
                paid_at BIGINT,
                cancelled_at BIGINT,
                cancel_reason TEXT,
                shipped_at BIGINT,
                tracking_number TEXT,
                completed_at BIGINT,
                status_before_refund TEXT,
                stock_held BOOLEAN NOT NULL,
                idempotency_key TEXT NOT NULL,
                request_hash TEXT NOT NULL,
                version BIGINT NOT NULL,
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL,
                UNIQUE (user_id, idempotency_key)
            )
            """,
            "CREATE INDEX orders_user ON orders (user_id, created_at, id)",
            "CREATE INDEX orders_status ON orders (status, created_at, id)",
            "CREATE INDEX orders_listing ON orders (created_at, id)",
            """
            CREATE TABLE order_items (
                order_id TEXT NOT NULL REFERENCES orders (id),
                line BIGINT NOT NULL,
                sku_id TEXT NOT NULL,
                product_id TEXT NOT NULL,
                title TEXT NOT NULL,
                unit_price_fen BIGINT NOT NULL CHECK (unit_price_fen > 0),
                quantity BIGINT NOT NULL CHECK (quantity > 0),
                PRIMARY KEY (order_id, line)
            )
            """,
            """
            CREATE TABLE refunds (
                id TEXT PRIMARY KEY,
                order_id TEXT NOT NULL REFERENCES orders (id),
                amount_fen BIGINT NOT NULL CHECK (amount_fen > 0),
                reason TEXT,
                status TEXT NOT NULL CHECK (status IN ('processing', 'succeeded', 'closed', 'abnormal')),
                gateway_refund_id TEXT,
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL
            )
            """,
            "CREATE INDEX refunds_order ON refunds (order_id, created_at)",
            """
            CREATE TABLE payment_ledger (
                id BIGSERIAL PRIMARY KEY,
                order_id TEXT,
                out_trade_no TEXT NOT NULL,
                kind TEXT NOT NULL,
                reference TEXT,
                gateway_state TEXT,
                amount_fen BIGINT,
                outcome TEXT NOT NULL,
                created_at BIGINT NOT NULL
            )
            """,
            "CREATE INDEX payment_ledger_trade ON payment_ledger (out_trade_no, id)",
            """
            CREATE TABLE jobs (
                id TEXT PRIMARY KEY,
                kind TEXT NOT NULL,
                job_key TEXT NOT NULL,
                payload TEXT NOT NULL,
                status TEXT NOT NULL CHECK (status IN ('pending', 'done', 'failed')),
                run_at BIGINT NOT NULL,
                attempts BIGINT NOT NULL,
                locked_by TEXT,
                locked_until BIGINT,
                last_error TEXT,
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL,
                UNIQUE (kind, job_key)
            )
            """,
            "CREATE INDEX jobs_due ON jobs (status, run_at)",
            "CREATE FUNCTION payment_ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'payment_ledger is append-only'; END $$",
            "CREATE TRIGGER payment_ledger_no_change BEFORE UPDATE OR DELETE ON payment_ledger FOR EACH ROW EXECUTE FUNCTION payment_ledger_append_only()",
        ]),
        // Refresh reuse grace: a rotated token records when it was rotated, its successor's
        // hash and the successor sealed under a key only the rotated token yields, so a
        // parallel refresh with the same token within the grace window gets the same pair.
        Migration(version: 4, name: "refresh_token_successors", statements: [
            "ALTER TABLE refresh_tokens ADD COLUMN rotated_at BIGINT",
            "ALTER TABLE refresh_tokens ADD COLUMN successor_hash TEXT",
            "ALTER TABLE refresh_tokens ADD COLUMN sealed_successor TEXT",
        ]),
        // Durable per-user inbox: a head row per user hands out gapless sequence numbers
        // (its row lock orders concurrent appends), messages keyed by (user, seq), each
        // device's acknowledged position, the idempotency record of direct messages, and
        // block lists. No foreign keys on the inbox itself: its writers only address users
        // that exist, and appends stay one upsert and one insert.
        Migration(version: 5, name: "create_inbox", statements: [
            """
            CREATE TABLE inbox_heads (
                user_id TEXT PRIMARY KEY,
                last_seq BIGINT NOT NULL
            )
            """,
            """
            CREATE TABLE inbox_messages (
                user_id TEXT NOT NULL,
                seq BIGINT NOT NULL,
                kind TEXT NOT NULL,
                payload TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                PRIMARY KEY (user_id, seq)
            )
            """,
            """
            CREATE TABLE inbox_cursors (
                user_id TEXT NOT NULL,
                device TEXT NOT NULL,
                acked_seq BIGINT NOT NULL,
                updated_at BIGINT NOT NULL,
                PRIMARY KEY (user_id, device)
            )
            """,
            """
            CREATE TABLE direct_messages (
                sender_id TEXT NOT NULL,
                client_msg_id TEXT NOT NULL,
                id TEXT NOT NULL UNIQUE,
                recipient_id TEXT NOT NULL,
                request_hash TEXT NOT NULL,
                recipient_seq BIGINT NOT NULL,
                sender_seq BIGINT NOT NULL,
                created_at BIGINT NOT NULL,
                PRIMARY KEY (sender_id, client_msg_id)
            )
            """,
            """
            CREATE TABLE user_blocks (
                user_id TEXT NOT NULL,
                blocked_id TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                PRIMARY KEY (user_id, blocked_id)
            )
            """,
        ]),
        // Rooms: a row per room whose `last_offset` hands out its gapless offsets (its row lock
        // orders concurrent posts, as an inbox head does), members with a role, the room's
        // bounded history keyed by (room, seq) (`offset` is a reserved word on both engines),
        // and the idempotency record of each sender's client message ids, trimmed with the
        // history (hence its index by seq). No foreign keys, as for the inbox: posts check
        // the room row themselves and the service checks it before touching members.
        Migration(version: 6, name: "create_rooms", statements: [
            """
            CREATE TABLE rooms (
                id TEXT PRIMARY KEY,
                name TEXT NOT NULL,
                policy TEXT NOT NULL CHECK (policy IN ('open', 'invite')),
                epoch TEXT NOT NULL,
                last_offset BIGINT NOT NULL,
                created_by TEXT NOT NULL,
                created_at BIGINT NOT NULL
            )
            """,
            """
            CREATE TABLE room_members (
                room_id TEXT NOT NULL,
                user_id TEXT NOT NULL,
                role TEXT NOT NULL CHECK (role IN ('owner', 'member')),
                joined_at BIGINT NOT NULL,
                PRIMARY KEY (room_id, user_id)
            )
            """,
            "CREATE INDEX room_members_user ON room_members (user_id, joined_at)",
            """
            CREATE TABLE room_messages (
                room_id TEXT NOT NULL,
                seq BIGINT NOT NULL,
                sender_id TEXT NOT NULL,
                payload TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                PRIMARY KEY (room_id, seq)
            )
            """,
            """
            CREATE TABLE room_message_keys (
                room_id TEXT NOT NULL,
                sender_id TEXT NOT NULL,
                client_msg_id TEXT NOT NULL,
                request_hash TEXT NOT NULL,
                seq BIGINT NOT NULL,
                created_at BIGINT NOT NULL,
                PRIMARY KEY (room_id, sender_id, client_msg_id)
            )
            """,
            "CREATE INDEX room_message_keys_seq ON room_message_keys (room_id, seq)",
        ]),
        // The outbox of domain events: one head row hands out the outbox-wide positions
        // (its row lock orders the event-writing transactions, so positions are gapless and
        // visible in order), and the events keyed by position. The index by time finds the
        // prefix that retention removes.
        Migration(version: 7, name: "create_event_outbox", statements: [
            """
            CREATE TABLE event_outbox_head (
                id BIGINT PRIMARY KEY CHECK (id = 1),
                last_position BIGINT NOT NULL
            )
            """,
            """
            CREATE TABLE event_outbox (
                position BIGINT PRIMARY KEY,
                id TEXT NOT NULL UNIQUE,
                type TEXT NOT NULL,
                version BIGINT NOT NULL,
                aggregate_type TEXT NOT NULL,
                aggregate_id TEXT NOT NULL,
                payload TEXT NOT NULL,
                occurred_at BIGINT NOT NULL
            )
            """,
            "CREATE INDEX event_outbox_occurred ON event_outbox (occurred_at, position)",
        ]),
        // Outbound webhooks: the endpoints (with their signing secrets, never read back by
        // the API), the dispatch cursor through the event outbox, one message per event and
        // endpoint (leased for delivery like jobs), and every attempt. The indexes serve the
        // claim (due outstanding messages), the ordered endpoints' check for an earlier
        // outstanding event about the same aggregate, and the admin listings.
        Migration(version: 8, name: "create_webhooks", statements: [
            """
            CREATE TABLE webhook_endpoints (
                id TEXT PRIMARY KEY,
                url TEXT NOT NULL,
                description TEXT NOT NULL,
                event_types TEXT NOT NULL,
                enabled BOOLEAN NOT NULL,
                ordered BOOLEAN NOT NULL,
                secret TEXT NOT NULL,
                previous_secret TEXT,
                previous_secret_expires_at BIGINT,
                failing_since BIGINT,
                disabled_at BIGINT,
                disabled_reason TEXT,
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL
            )
            """,
            """
            CREATE TABLE webhook_dispatch (
                id BIGINT PRIMARY KEY CHECK (id = 1),
                last_position BIGINT NOT NULL
            )
            """,
            "INSERT INTO webhook_dispatch (id, last_position) VALUES (1, 0)",
            """
            CREATE TABLE webhook_messages (
                id TEXT PRIMARY KEY,
                endpoint_id TEXT NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
                event_id TEXT NOT NULL,
                event_type TEXT NOT NULL,
                event_position BIGINT NOT NULL,
                event_occurred_at BIGINT NOT NULL,
                aggregate_id TEXT NOT NULL,
                status TEXT NOT NULL,
                attempts BIGINT NOT NULL,
                next_attempt_at BIGINT,
                locked_by TEXT,
                locked_until BIGINT,
                last_status_code BIGINT,
                last_error TEXT,
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL,
                delivered_at BIGINT,
                UNIQUE (endpoint_id, event_id)
            )
            """,
            "CREATE INDEX webhook_messages_due ON webhook_messages (next_attempt_at) WHERE status IN ('pending', 'failed')",
            "CREATE INDEX webhook_messages_aggregate ON webhook_messages (endpoint_id, aggregate_id, event_position)",
            "CREATE INDEX webhook_messages_endpoint ON webhook_messages (endpoint_id, event_position)",
            """
            CREATE TABLE webhook_attempts (
                message_id TEXT NOT NULL REFERENCES webhook_messages (id) ON DELETE CASCADE,
                number BIGINT NOT NULL,
                endpoint_id TEXT NOT NULL,
                attempted_at BIGINT NOT NULL,
                status_code BIGINT,
                latency_ms BIGINT NOT NULL,
                response_body TEXT,
                error TEXT,
                PRIMARY KEY (message_id, attempted_at, number)
            )
            """,
            "CREATE INDEX webhook_attempts_time ON webhook_attempts (attempted_at)",
        ]),
        // WeChat subscribe messages: acceptances left per user and template, the sends made
        // from domain events (one per event and template), and their dispatch cursor, which
        // starts at the outbox's head so events from before the feature existed send nothing.
        Migration(version: 9, name: "create_subscribe_messages", statements: [
            """
            CREATE TABLE subscription_quotas (
                user_id TEXT NOT NULL,
                template_id TEXT NOT NULL,
                remaining BIGINT NOT NULL CHECK (remaining >= 0),
                updated_at BIGINT NOT NULL,
                PRIMARY KEY (user_id, template_id)
            )
            """,
            """
            CREATE TABLE subscribe_dispatch (
                id BIGINT PRIMARY KEY CHECK (id = 1),
                last_position BIGINT NOT NULL
            )
            """,
            "INSERT INTO subscribe_dispatch (id, last_position) SELECT 1, COALESCE((SELECT MAX(last_position) FROM event_outbox_head), 0)",
            """
            CREATE TABLE subscribe_sends (
                id TEXT PRIMARY KEY,
                event_id TEXT NOT NULL,
                user_id TEXT NOT NULL,
                template_key TEXT NOT NULL,
                template_id TEXT NOT NULL,
                status TEXT NOT NULL,
                attempts BIGINT NOT NULL,
                quota_taken BOOLEAN NOT NULL DEFAULT FALSE,
                outcome TEXT,
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL,
                UNIQUE (event_id, template_key)
            )
            """,
            "CREATE INDEX subscribe_sends_user ON subscribe_sends (user_id, created_at)",
        ]),
        // Request-signing keys for client apps: the secret itself (an HMAC is verified with
        // it), and during a rotation's overlap the secret it replaced.
        Migration(version: 10, name: "create_signing_keys", statements: [
            """
            CREATE TABLE signing_keys (
                id TEXT PRIMARY KEY,
                name TEXT NOT NULL,
                secret TEXT NOT NULL,
                previous_secret TEXT,
                previous_valid_until BIGINT,
                created_at BIGINT NOT NULL,
                rotated_at BIGINT,
                revoked_at BIGINT
            )
            """,
            "CREATE UNIQUE INDEX signing_keys_active_name ON signing_keys (name) WHERE revoked_at IS NULL",
        ]),
        // SQLite's `order_intake` view and trigger. PostgreSQL writes an order in one
        // statement without them (data-modifying WITH); the version says so in the schema.
        Migration(version: 11, name: "create_order_intake", statements: [
            """
            COMMENT ON TABLE orders IS 'An order of one line is written with its items, timeout job and event in one \
            statement (data-modifying WITH); see SQLOrderRepository+OneStatement.swift'
            """,
        ]),
        // Flash sales (`SKU.flashSale`): the flag, and one live order per buyer and SKU
        // (`flash_sale_holds`, written with the order and deleted when its stock is released).
        Migration(version: 12, name: "create_flash_sale_holds", statements: [
            "ALTER TABLE skus ADD COLUMN flash_sale BOOLEAN NOT NULL DEFAULT FALSE",
            """
            CREATE TABLE flash_sale_holds (
                sku_id TEXT NOT NULL REFERENCES skus (id),
                user_id TEXT NOT NULL REFERENCES users (id),
                order_id TEXT NOT NULL REFERENCES orders (id),
                created_at BIGINT NOT NULL,
                PRIMARY KEY (sku_id, user_id)
            )
            """,
            "CREATE INDEX flash_sale_holds_order ON flash_sale_holds (order_id)",
        ]),
    ]
}
