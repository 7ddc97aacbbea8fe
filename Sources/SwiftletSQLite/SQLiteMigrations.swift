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
        // Commerce: catalogue, orders with stock reservation, refunds, the append-only
        // payment ledger (a trigger refuses UPDATE and DELETE), and the durable job queue.
        Migration(version: 3, name: "create_commerce", statements: [
            """
            CREATE TABLE products (
                id TEXT PRIMARY KEY,
                title TEXT NOT NULL,
                description TEXT NOT NULL,
                image_url TEXT,
                on_shelf INTEGER NOT NULL,
                created_at INTEGER NOT NULL,
                updated_at INTEGER NOT NULL,
                deleted_at INTEGER
            ) STRICT
            """,
            "CREATE INDEX products_listing ON products (created_at, id) WHERE deleted_at IS NULL",
            """
            CREATE TABLE skus (
                id TEXT PRIMARY KEY,
                product_id TEXT NOT NULL REFERENCES products (id),
                title TEXT NOT NULL,
                price_fen INTEGER NOT NULL CHECK (price_fen > 0),
                stock INTEGER NOT NULL CHECK (stock >= 0),
                position INTEGER NOT NULL,
                created_at INTEGER NOT NULL,
                updated_at INTEGER NOT NULL
            ) STRICT
            """,
            "CREATE INDEX skus_product ON skus (product_id, position)",
            """
            CREATE TABLE orders (
                id TEXT PRIMARY KEY,
                user_id TEXT NOT NULL REFERENCES users (id),
                out_trade_no TEXT NOT NULL UNIQUE,
                status TEXT NOT NULL CHECK (status IN ('pending_payment', 'paid', 'shipped', 'completed', 'cancelled', 'refunding', 'refunded')),
                total_fen INTEGER NOT NULL CHECK (total_fen > 0),
                refunded_fen INTEGER NOT NULL CHECK (refunded_fen >= 0 AND refunded_fen <= total_fen),
                expires_at INTEGER NOT NULL,
                prepay_id TEXT,
                prepay_expires_at INTEGER,
                transaction_id TEXT,
                paid_at INTEGER,
                cancelled_at INTEGER,
                cancel_reason TEXT,
                shipped_at INTEGER,
                tracking_number TEXT,
                completed_at INTEGER,
                status_before_refund TEXT,
                stock_held INTEGER NOT NULL,
                idempotency_key TEXT NOT NULL,
                request_hash TEXT NOT NULL,
                version INTEGER NOT NULL,
                created_at INTEGER NOT NULL,
                updated_at INTEGER NOT NULL,
                UNIQUE (user_id, idempotency_key)
            ) STRICT
            """,
            "CREATE INDEX orders_user ON orders (user_id, created_at, id)",
            "CREATE INDEX orders_status ON orders (status, created_at, id)",
            "CREATE INDEX orders_listing ON orders (created_at, id)",
            """
            CREATE TABLE order_items (
                order_id TEXT NOT NULL REFERENCES orders (id),
                line INTEGER NOT NULL,
                sku_id TEXT NOT NULL,
                product_id TEXT NOT NULL,
                title TEXT NOT NULL,
                unit_price_fen INTEGER NOT NULL CHECK (unit_price_fen > 0),
                quantity INTEGER NOT NULL CHECK (quantity > 0),
                PRIMARY KEY (order_id, line)
            ) STRICT
            """,
            """
            CREATE TABLE refunds (
                id TEXT PRIMARY KEY,
                order_id TEXT NOT NULL REFERENCES orders (id),
                amount_fen INTEGER NOT NULL CHECK (amount_fen > 0),
                reason TEXT,
                status TEXT NOT NULL CHECK (status IN ('processing', 'succeeded', 'closed', 'abnormal')),
                gateway_refund_id TEXT,
                created_at INTEGER NOT NULL,
                updated_at INTEGER NOT NULL
            ) STRICT
            """,
            "CREATE INDEX refunds_order ON refunds (order_id, created_at)",
            """
            CREATE TABLE payment_ledger (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                order_id TEXT,
                out_trade_no TEXT NOT NULL,
                kind TEXT NOT NULL,
                reference TEXT,
                gateway_state TEXT,
                amount_fen INTEGER,
                outcome TEXT NOT NULL,
                created_at INTEGER NOT NULL
            ) STRICT
            """,
            "CREATE INDEX payment_ledger_trade ON payment_ledger (out_trade_no, id)",
            """
            CREATE TABLE jobs (
                id TEXT PRIMARY KEY,
                kind TEXT NOT NULL,
                job_key TEXT NOT NULL,
                payload TEXT NOT NULL,
                status TEXT NOT NULL CHECK (status IN ('pending', 'done', 'failed')),
                run_at INTEGER NOT NULL,
                attempts INTEGER NOT NULL,
                locked_by TEXT,
                locked_until INTEGER,
                last_error TEXT,
                created_at INTEGER NOT NULL,
                updated_at INTEGER NOT NULL,
                UNIQUE (kind, job_key)
            ) STRICT
            """,
            "CREATE INDEX jobs_due ON jobs (status, run_at)",
            "CREATE TRIGGER payment_ledger_no_update BEFORE UPDATE ON payment_ledger BEGIN SELECT RAISE(ABORT, 'payment_ledger is append-only'); END",
            "CREATE TRIGGER payment_ledger_no_delete BEFORE DELETE ON payment_ledger BEGIN SELECT RAISE(ABORT, 'payment_ledger is append-only'); END",
        ]),
        // Refresh reuse grace: a rotated token records when it was rotated, its successor's
        // hash and the successor sealed under a key only the rotated token yields, so a
        // parallel refresh with the same token within the grace window gets the same pair.
        Migration(version: 4, name: "refresh_token_successors", statements: [
            "ALTER TABLE refresh_tokens ADD COLUMN rotated_at INTEGER",
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
                last_seq INTEGER NOT NULL
            ) STRICT
            """,
            """
            CREATE TABLE inbox_messages (
                user_id TEXT NOT NULL,
                seq INTEGER NOT NULL,
                kind TEXT NOT NULL,
                payload TEXT NOT NULL,
                created_at INTEGER NOT NULL,
                PRIMARY KEY (user_id, seq)
            ) STRICT
            """,
            """
            CREATE TABLE inbox_cursors (
                user_id TEXT NOT NULL,
                device TEXT NOT NULL,
                acked_seq INTEGER NOT NULL,
                updated_at INTEGER NOT NULL,
                PRIMARY KEY (user_id, device)
            ) STRICT
            """,
            """
            CREATE TABLE direct_messages (
                sender_id TEXT NOT NULL,
                client_msg_id TEXT NOT NULL,
                id TEXT NOT NULL UNIQUE,
                recipient_id TEXT NOT NULL,
                request_hash TEXT NOT NULL,
                recipient_seq INTEGER NOT NULL,
                sender_seq INTEGER NOT NULL,
                created_at INTEGER NOT NULL,
                PRIMARY KEY (sender_id, client_msg_id)
            ) STRICT
            """,
            """
            CREATE TABLE user_blocks (
                user_id TEXT NOT NULL,
                blocked_id TEXT NOT NULL,
                created_at INTEGER NOT NULL,
                PRIMARY KEY (user_id, blocked_id)
            ) STRICT
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
                last_offset INTEGER NOT NULL,
                created_by TEXT NOT NULL,
                created_at INTEGER NOT NULL
            ) STRICT
            """,
            """
            CREATE TABLE room_members (
                room_id TEXT NOT NULL,
                user_id TEXT NOT NULL,
                role TEXT NOT NULL CHECK (role IN ('owner', 'member')),
                joined_at INTEGER NOT NULL,
                PRIMARY KEY (room_id, user_id)
            ) STRICT
            """,
            "CREATE INDEX room_members_user ON room_members (user_id, joined_at)",
            """
            CREATE TABLE room_messages (
                room_id TEXT NOT NULL,
                seq INTEGER NOT NULL,
                sender_id TEXT NOT NULL,
                payload TEXT NOT NULL,
                created_at INTEGER NOT NULL,
                PRIMARY KEY (room_id, seq)
            ) STRICT
            """,
            """
            CREATE TABLE room_message_keys (
                room_id TEXT NOT NULL,
                sender_id TEXT NOT NULL,
                client_msg_id TEXT NOT NULL,
                request_hash TEXT NOT NULL,
                seq INTEGER NOT NULL,
                created_at INTEGER NOT NULL,
                PRIMARY KEY (room_id, sender_id, client_msg_id)
            ) STRICT
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
                id INTEGER PRIMARY KEY CHECK (id = 1),
                last_position INTEGER NOT NULL
            ) STRICT
            """,
            """
            CREATE TABLE event_outbox (
                position INTEGER PRIMARY KEY,
                id TEXT NOT NULL UNIQUE,
                type TEXT NOT NULL,
                version INTEGER NOT NULL,
                aggregate_type TEXT NOT NULL,
                aggregate_id TEXT NOT NULL,
                payload TEXT NOT NULL,
                occurred_at INTEGER NOT NULL
            ) STRICT
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
                enabled INTEGER NOT NULL,
                ordered INTEGER NOT NULL,
                secret TEXT NOT NULL,
                previous_secret TEXT,
                previous_secret_expires_at INTEGER,
                failing_since INTEGER,
                disabled_at INTEGER,
                disabled_reason TEXT,
                created_at INTEGER NOT NULL,
                updated_at INTEGER NOT NULL
            ) STRICT
            """,
            """
            CREATE TABLE webhook_dispatch (
                id INTEGER PRIMARY KEY CHECK (id = 1),
                last_position INTEGER NOT NULL
            ) STRICT
            """,
            "INSERT INTO webhook_dispatch (id, last_position) VALUES (1, 0)",
            """
            CREATE TABLE webhook_messages (
                id TEXT PRIMARY KEY,
                endpoint_id TEXT NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
                event_id TEXT NOT NULL,
                event_type TEXT NOT NULL,
                event_position INTEGER NOT NULL,
                event_occurred_at INTEGER NOT NULL,
                aggregate_id TEXT NOT NULL,
                status TEXT NOT NULL,
                attempts INTEGER NOT NULL,
                next_attempt_at INTEGER,
                locked_by TEXT,
                locked_until INTEGER,
                last_status_code INTEGER,
                last_error TEXT,
                created_at INTEGER NOT NULL,
                updated_at INTEGER NOT NULL,
                delivered_at INTEGER,
                UNIQUE (endpoint_id, event_id)
            ) STRICT
            """,
            "CREATE INDEX webhook_messages_due ON webhook_messages (next_attempt_at) WHERE status IN ('pending', 'failed')",
            "CREATE INDEX webhook_messages_aggregate ON webhook_messages (endpoint_id, aggregate_id, event_position)",
            "CREATE INDEX webhook_messages_endpoint ON webhook_messages (endpoint_id, event_position)",
            """
            CREATE TABLE webhook_attempts (
                message_id TEXT NOT NULL REFERENCES webhook_messages (id) ON DELETE CASCADE,
                number INTEGER NOT NULL,
                endpoint_id TEXT NOT NULL,
                attempted_at INTEGER NOT NULL,
                status_code INTEGER,
                latency_ms INTEGER NOT NULL,
                response_body TEXT,
                error TEXT,
                PRIMARY KEY (message_id, attempted_at, number)
            ) STRICT
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
                remaining INTEGER NOT NULL CHECK (remaining >= 0),
                updated_at INTEGER NOT NULL,
                PRIMARY KEY (user_id, template_id)
            ) STRICT
            """,
            """
            CREATE TABLE subscribe_dispatch (
                id INTEGER PRIMARY KEY CHECK (id = 1),
                last_position INTEGER NOT NULL
            ) STRICT
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
                attempts INTEGER NOT NULL,
                quota_taken INTEGER NOT NULL DEFAULT 0,
                outcome TEXT,
                created_at INTEGER NOT NULL,
                updated_at INTEGER NOT NULL,
                UNIQUE (event_id, template_key)
            ) STRICT
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
                previous_valid_until INTEGER,
                created_at INTEGER NOT NULL,
                rotated_at INTEGER,
                revoked_at INTEGER
            ) STRICT
            """,
            "CREATE UNIQUE INDEX signing_keys_active_name ON signing_keys (name) WHERE revoked_at IS NULL",
        ]),
        // An order of one line in one statement (`SQLOrderRepository.createInOneStatement`):
        // inserting a row into this view runs the trigger, which checks the SKU (stock,
        // the price the order was built with, product on sale) and aborts the statement if
        // it fails (`guardRefusedMarker`), else takes the stock and writes the order, its
        // item, its timeout job and its event. One statement holds the write lock for one
        // step instead of a transaction of nine; the view never holds a row.
        Migration(version: 11, name: "create_order_intake", statements: [
            """
            CREATE VIEW order_intake AS SELECT
                NULL AS order_id, NULL AS user_id, NULL AS out_trade_no, NULL AS status, NULL AS total_fen,
                NULL AS expires_at, NULL AS stock_held, NULL AS idempotency_key, NULL AS request_hash,
                NULL AS created_at, NULL AS updated_at,
                NULL AS sku_id, NULL AS product_id, NULL AS item_title, NULL AS unit_price_fen, NULL AS quantity,
                NULL AS job_id, NULL AS job_kind, NULL AS job_key, NULL AS job_payload, NULL AS job_run_at,
                NULL AS event_id, NULL AS event_type, NULL AS event_version, NULL AS event_aggregate_type,
                NULL AS event_aggregate_id, NULL AS event_payload, NULL AS event_occurred_at
            WHERE 0
            """,
            orderIntakeTriggerV11,
        ]),
        // Flash sales (`SKU.flashSale`): the flag, and one live order per buyer and SKU
        // (`flash_sale_holds`, written with the order and deleted when its stock is
        // released). Flash-sale orders take the transaction, which writes the hold; the
        // trigger now refuses them so an order built before a SKU became one cannot slip
        // in without its hold.
        Migration(version: 12, name: "create_flash_sale_holds", statements: [
            "ALTER TABLE skus ADD COLUMN flash_sale INTEGER NOT NULL DEFAULT 0 CHECK (flash_sale IN (0, 1))",
            """
            CREATE TABLE flash_sale_holds (
                sku_id TEXT NOT NULL REFERENCES skus (id),
                user_id TEXT NOT NULL REFERENCES users (id),
                order_id TEXT NOT NULL REFERENCES orders (id),
                created_at INTEGER NOT NULL,
                PRIMARY KEY (sku_id, user_id)
            ) STRICT
            """,
            "CREATE INDEX flash_sale_holds_order ON flash_sale_holds (order_id)",
            // Orders of several lines in one statement too: one row per line, the order, its
            // timeout job and its event written with line 0 (the rows of one INSERT run in
            // order, and a refusal of any line aborts the whole statement).
            "DROP TRIGGER order_intake_insert",
            "DROP VIEW order_intake",
            """
            CREATE VIEW order_intake AS SELECT
                NULL AS order_id, NULL AS user_id, NULL AS out_trade_no, NULL AS status, NULL AS total_fen,
                NULL AS expires_at, NULL AS stock_held, NULL AS idempotency_key, NULL AS request_hash,
                NULL AS created_at, NULL AS updated_at,
                NULL AS line, NULL AS sku_id, NULL AS product_id, NULL AS item_title, NULL AS unit_price_fen, NULL AS quantity,
                NULL AS job_id, NULL AS job_kind, NULL AS job_key, NULL AS job_payload, NULL AS job_run_at,
                NULL AS event_id, NULL AS event_type, NULL AS event_version, NULL AS event_aggregate_type,
                NULL AS event_aggregate_id, NULL AS event_payload, NULL AS event_occurred_at
            WHERE 0
            """,
            """
            CREATE TRIGGER order_intake_insert INSTEAD OF INSERT ON order_intake
            BEGIN
                SELECT RAISE(ABORT, '\(guardRefusedMarker)') WHERE NOT EXISTS (
                    SELECT 1 FROM skus JOIN products ON products.id = skus.product_id
                    WHERE skus.id = NEW.sku_id AND skus.stock >= NEW.quantity AND skus.price_fen = NEW.unit_price_fen
                      AND products.on_shelf AND products.deleted_at IS NULL AND NOT skus.flash_sale);
                UPDATE skus SET stock = stock - NEW.quantity WHERE id = NEW.sku_id;
                INSERT INTO orders (id, user_id, out_trade_no, status, total_fen, refunded_fen, expires_at, stock_held,
                                    idempotency_key, request_hash, version, created_at, updated_at)
                SELECT NEW.order_id, NEW.user_id, NEW.out_trade_no, NEW.status, NEW.total_fen, 0, NEW.expires_at,
                       NEW.stock_held, NEW.idempotency_key, NEW.request_hash, 0, NEW.created_at, NEW.updated_at
                WHERE NEW.line = 0;
                INSERT INTO order_items (order_id, line, sku_id, product_id, title, unit_price_fen, quantity)
                VALUES (NEW.order_id, NEW.line, NEW.sku_id, NEW.product_id, NEW.item_title, NEW.unit_price_fen, NEW.quantity);
                INSERT INTO jobs (id, kind, job_key, payload, status, run_at, attempts, created_at, updated_at)
                SELECT NEW.job_id, NEW.job_kind, NEW.job_key, NEW.job_payload, 'pending', NEW.job_run_at, 0,
                       NEW.created_at, NEW.created_at
                WHERE NEW.line = 0
                ON CONFLICT (kind, job_key) DO NOTHING;
                INSERT INTO event_outbox_head (id, last_position) SELECT 1, 1 WHERE NEW.line = 0
                ON CONFLICT (id) DO UPDATE SET last_position = last_position + 1;
                INSERT INTO event_outbox (position, id, type, version, aggregate_type, aggregate_id, payload, occurred_at)
                SELECT (SELECT last_position FROM event_outbox_head WHERE id = 1), NEW.event_id, NEW.event_type,
                       NEW.event_version, NEW.event_aggregate_type, NEW.event_aggregate_id, NEW.event_payload,
                       NEW.event_occurred_at
                WHERE NEW.line = 0;
            END
            """,
        ]),
    ]

    /// The message of `order_intake`'s refusal, by which the engine recognises it.
    static let guardRefusedMarker = "swiftlet.order_intake_refused"

    /// Migration 11's trigger of `order_intake` (one line per order), kept byte for byte as it
    /// ran (checksums); migration 12 replaces it.
    static var orderIntakeTriggerV11: String {
        """
            CREATE TRIGGER order_intake_insert INSTEAD OF INSERT ON order_intake
            BEGIN
                SELECT RAISE(ABORT, '\(guardRefusedMarker)') WHERE NOT EXISTS (
                    SELECT 1 FROM skus JOIN products ON products.id = skus.product_id
                    WHERE skus.id = NEW.sku_id AND skus.stock >= NEW.quantity AND skus.price_fen = NEW.unit_price_fen
                      AND products.on_shelf AND products.deleted_at IS NULL);
                UPDATE skus SET stock = stock - NEW.quantity WHERE id = NEW.sku_id;
                INSERT INTO orders (id, user_id, out_trade_no, status, total_fen, refunded_fen, expires_at, stock_held,
                                    idempotency_key, request_hash, version, created_at, updated_at)
                VALUES (NEW.order_id, NEW.user_id, NEW.out_trade_no, NEW.status, NEW.total_fen, 0, NEW.expires_at,
                        NEW.stock_held, NEW.idempotency_key, NEW.request_hash, 0, NEW.created_at, NEW.updated_at);
                INSERT INTO order_items (order_id, line, sku_id, product_id, title, unit_price_fen, quantity)
                VALUES (NEW.order_id, 0, NEW.sku_id, NEW.product_id, NEW.item_title, NEW.unit_price_fen, NEW.quantity);
                INSERT INTO jobs (id, kind, job_key, payload, status, run_at, attempts, created_at, updated_at)
                VALUES (NEW.job_id, NEW.job_kind, NEW.job_key, NEW.job_payload, 'pending', NEW.job_run_at, 0,
                        NEW.created_at, NEW.created_at)
                ON CONFLICT (kind, job_key) DO NOTHING;
                INSERT INTO event_outbox_head (id, last_position) VALUES (1, 1)
                ON CONFLICT (id) DO UPDATE SET last_position = last_position + 1;
                INSERT INTO event_outbox (position, id, type, version, aggregate_type, aggregate_id, payload, occurred_at)
                VALUES ((SELECT last_position FROM event_outbox_head WHERE id = 1), NEW.event_id, NEW.event_type,
                        NEW.event_version, NEW.event_aggregate_type, NEW.event_aggregate_id, NEW.event_payload,
                        NEW.event_occurred_at);
            END
            """
    }
}
