import Foundation
import Logging

/// Keeps the flash-sale gate (Redis) in step with the database, on every node, every
/// `commerce.flashSaleReconcile` seconds.
///
/// For each flash-sale SKU it reads the gate's version, then the database's units left and
/// holders, and has the gate adopt them, unless the version moved in between (a sale is
/// running: the gate is changing under the read, and the next round will try again). A
/// gate that has sold out does not move, so a repair always lands once buying stops. What
/// it repairs:
/// - a node that stopped between taking a unit in Redis and persisting the order (the
///   reservation is older than the grace: its unit comes back);
/// - a unit released while Redis was unreachable (a cancelled order);
/// - an admin's stock change, or a SKU newly marked for a flash sale (loaded).
///
/// It also tells `FlashSaleOrders` which SKUs are flash-sale ones.
public struct FlashSaleReconciler: Sendable {
    let catalog: any CatalogRepository
    let gate: any FlashSaleGate
    let skus: FlashSaleSKUs
    let clock: SwiftletClock
    let grace: TimeInterval
    let telemetry: FlashSaleTelemetry
    let logger: Logger

    public init(catalog: any CatalogRepository, gate: any FlashSaleGate, skus: FlashSaleSKUs, clock: SwiftletClock,
                grace: TimeInterval, telemetry: FlashSaleTelemetry = .off, logger: Logger) {
        self.catalog = catalog
        self.gate = gate
        self.skus = skus
        self.clock = clock
        self.grace = grace
        self.telemetry = telemetry
        self.logger = logger
    }

    /// One round over every flash-sale SKU; what each repair did.
    @discardableResult
    public func reconcileOnce() async throws -> [SKUID: FlashSaleRepair] {
        // The version is read before the database, so anything the gate does while the
        // database is read shows as a moved version. The ids alone first: a running sale's
        // holders can be many, and are read once, below.
        let ids = try await catalog.flashSaleSKUIDs()
        var versions: [SKUID: String?] = [:]
        for id in ids { versions[id] = try await gate.version(sku: id) }
        let ledgers = try await catalog.flashSaleLedgers()
        skus.replace(with: Set(ledgers.map(\.skuID)))
        var results: [SKUID: FlashSaleRepair] = [:]
        let staleBefore = clock.now.addingTimeInterval(-grace)
        for ledger in ledgers {
            // A SKU that became a flash-sale one between the two reads: next round.
            guard let version = versions[ledger.skuID] else { continue }
            let repair = try await gate.repair(ledger, ifVersion: version, staleBefore: staleBefore)
            results[ledger.skuID] = repair
            telemetry.count(repair)
            if case .repaired(let before, let after, let holders, let lost) = repair {
                logger.warning("flash-sale gate repaired from the database", metadata: [
                    "sku": "\(ledger.skuID.rawValue)", "stock_before": "\(before)", "stock_after": "\(after)",
                    "holders_changed": "\(holders)", "lost_reservations": "\(lost)"])
            }
        }
        return results
    }

    /// Reconciles every `interval` until cancelled; a failed round (Redis or the database
    /// down) is logged and the next one tries again.
    public func run(every interval: TimeInterval) async {
        while !Task.isCancelled {
            do {
                try await reconcileOnce()
            } catch {
                telemetry.count(.failed)
                logger.warning("flash-sale reconciliation failed; retrying next round", metadata: ["error": "\(error)"])
            }
            do { try await Task.sleep(for: .milliseconds(Int64(interval * 1000))) } catch { return }
        }
    }
}
