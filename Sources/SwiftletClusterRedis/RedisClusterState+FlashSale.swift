import Foundation
import SwiftletCore
import SwiftletRedis

/// The flash-sale gate on Redis: one script per step, so each is atomic on the server.
///
/// Per SKU, under one hash tag (the keys of a SKU live on one Redis Cluster slot):
/// - `swiftlet:flash:{sku}`: a hash of `stock` (units left) and `version` (moves on every
///   change, which is how reconciliation sees a sale running);
/// - `…:holders`: the buyers holding a unit (reserved or ordered);
/// - `…:pending`: reservations not yet persisted, scored by when they were taken (ms).
extension RedisClusterState: FlashSaleGate {
    /// The SKU's keys: its state hash, its holders, its reservations in flight.
    public static func keys(_ sku: SKUID) -> [String] {
        let base = "swiftlet:flash:{\(sku.rawValue)}"
        return [base, base + ":holders", base + ":pending"]
    }

    /// 0 reserved, 1 sold out, 2 already held, 3 not loaded.
    static let reserveScript = RedisScript("""
        local stock = redis.call('HGET', KEYS[1], 'stock')
        if not stock then return 3 end
        if redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 1 then return 2 end
        if tonumber(stock) <= 0 then return 1 end
        redis.call('HINCRBY', KEYS[1], 'stock', -1)
        redis.call('HINCRBY', KEYS[1], 'version', 1)
        redis.call('SADD', KEYS[2], ARGV[1])
        redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1])
        return 0
        """)

    /// The reservation leaves `pending`; the buyer stays a holder.
    static let confirmScript = RedisScript("""
        if redis.call('ZREM', KEYS[3], ARGV[1]) == 1 then redis.call('HINCRBY', KEYS[1], 'version', 1) end
        return 0
        """)

    /// The reservation is undone: the unit goes back, the buyer holds nothing.
    static let giveBackScript = RedisScript("""
        if redis.call('ZREM', KEYS[3], ARGV[1]) == 1 and redis.call('EXISTS', KEYS[1]) == 1 then
            redis.call('SREM', KEYS[2], ARGV[1])
            redis.call('HINCRBY', KEYS[1], 'stock', 1)
            redis.call('HINCRBY', KEYS[1], 'version', 1)
        end
        return 0
        """)

    /// An ordered unit came back. Not while the buyer has a new reservation in flight:
    /// that one is theirs now, and reconciliation settles the rest.
    static let releaseScript = RedisScript("""
        if redis.call('EXISTS', KEYS[1]) == 0 or redis.call('ZSCORE', KEYS[3], ARGV[1]) then return 0 end
        if redis.call('SREM', KEYS[2], ARGV[1]) == 1 then
            redis.call('HINCRBY', KEYS[1], 'stock', 1)
            redis.call('HINCRBY', KEYS[1], 'version', 1)
        end
        return 0
        """)

    /// ARGV: the version read before the database ('' for none), the database's units
    /// left, the stale-reservation cutoff (ms), then the database's holders. Holders become
    /// the database's plus the reservations still in flight, and units the database's
    /// minus those. Answers {-1} (the version moved), or {outcome (0 loaded, 1 agreed,
    /// 2 repaired), units before, units after, holders changed, lost reservations}.
    static let repairScript = RedisScript("""
        local version = redis.call('HGET', KEYS[1], 'version') or ''
        if version ~= ARGV[1] then return {-1} end
        local loaded = version ~= ''
        local lost = 0
        if loaded then
            local stale = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', '(' .. ARGV[3])
            for _, user in ipairs(stale) do redis.call('ZREM', KEYS[3], user) end
            lost = #stale
        else
            redis.call('DEL', KEYS[2], KEYS[3])
        end
        local desired = {}
        for i = 4, #ARGV do desired[ARGV[i]] = true end
        local inflight = 0
        for _, user in ipairs(redis.call('ZRANGE', KEYS[3], 0, -1)) do
            if not desired[user] then
                desired[user] = true
                inflight = inflight + 1
            end
        end
        local changed = 0
        for _, user in ipairs(redis.call('SMEMBERS', KEYS[2])) do
            if not desired[user] then
                redis.call('SREM', KEYS[2], user)
                changed = changed + 1
            end
        end
        for user in pairs(desired) do
            changed = changed + redis.call('SADD', KEYS[2], user)
        end
        local stock = math.max(tonumber(ARGV[2]) - inflight, 0)
        if not loaded then
            redis.call('HSET', KEYS[1], 'stock', stock, 'version', 1)
            return {0, -1, stock, changed, 0}
        end
        local before = tonumber(redis.call('HGET', KEYS[1], 'stock') or '-1')
        if before == stock and changed == 0 and lost == 0 then return {1, before, stock, 0, 0} end
        redis.call('HSET', KEYS[1], 'stock', stock)
        redis.call('HINCRBY', KEYS[1], 'version', 1)
        return {2, before, stock, changed, lost}
        """)

    public func reserve(sku: SKUID, user: UserID, now: Date) async throws -> FlashSaleReservation {
        let reply = try await client.evaluate(
            Self.reserveScript, keys: Self.keys(sku), arguments: [user.rawValue, String(now.unixMilliseconds)])
        switch reply.int {
        case 0: return .reserved
        case 1: return .soldOut
        case 2: return .alreadyHeld
        case 3: return .notLoaded
        default: throw RedisError(.protocolViolation, "the flash-sale reserve script answered \(reply)")
        }
    }

    public func confirm(sku: SKUID, user: UserID) async throws {
        _ = try await client.evaluate(Self.confirmScript, keys: Self.keys(sku), arguments: [user.rawValue])
    }

    public func giveBack(sku: SKUID, user: UserID) async throws {
        _ = try await client.evaluate(Self.giveBackScript, keys: Self.keys(sku), arguments: [user.rawValue])
    }

    public func release(sku: SKUID, user: UserID) async throws {
        _ = try await client.evaluate(Self.releaseScript, keys: Self.keys(sku), arguments: [user.rawValue])
    }

    public func version(sku: SKUID) async throws -> String? {
        try await client.send("HGET", Self.keys(sku)[0], "version").string
    }

    public func repair(_ ledger: FlashSaleLedger, ifVersion version: String?, staleBefore: Date) async throws -> FlashSaleRepair {
        let arguments = [version ?? "", String(ledger.stock), String(staleBefore.unixMilliseconds)]
            + ledger.holders.map(\.rawValue)
        let reply = try await client.evaluate(Self.repairScript, keys: Self.keys(ledger.skuID), arguments: arguments)
        guard case .array(let items) = reply, let outcome = items.first?.int else {
            throw RedisError(.protocolViolation, "the flash-sale repair script answered \(reply)")
        }
        if outcome == -1 { return .busy }
        guard items.count == 5, let before = items[1].int, let after = items[2].int, let changed = items[3].int,
              let lost = items[4].int else {
            throw RedisError(.protocolViolation, "the flash-sale repair script answered \(reply)")
        }
        switch outcome {
        case 0: return .loaded
        case 1: return .agreed
        default:
            return .repaired(stockBefore: Int(before), stockAfter: Int(after), holdersChanged: Int(changed), lostReservations: Int(lost))
        }
    }
}
