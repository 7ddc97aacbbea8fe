import Foundation

/// Flash-sale units counted outside the database (Redis), so that buyers who cannot get
/// one are answered without touching the database.
///
/// The database stays the authority: an order is only ever written by the database's own
/// guarded stock update and its one-hold-per-buyer key (`flash_sale_holds`). The gate
/// only decides who may ask the database, and every way it can be wrong errs towards
/// asking: too many units in Redis send an extra buyer to a database that refuses them;
/// too few leave units unsold until reconciliation (`FlashSaleReconciler`) repairs it.
///
/// Per SKU the gate keeps the units left, the buyers holding one, and the reservations in
/// flight (taken in Redis, not yet persisted), each with the time it was taken.
public protocol FlashSaleGate: Sendable {
    /// Takes a unit for `user` if one is left and they hold none.
    func reserve(sku: SKUID, user: UserID, now: Date) async throws -> FlashSaleReservation
    /// The order was persisted: the reservation is no longer in flight.
    func confirm(sku: SKUID, user: UserID) async throws
    /// The order was not persisted: the unit goes back and the buyer holds nothing.
    func giveBack(sku: SKUID, user: UserID) async throws
    /// A persisted order's unit came back (cancelled, refunded before shipping).
    func release(sku: SKUID, user: UserID) async throws
    /// A token that changes whenever the SKU's state in the gate changes (nil: not loaded).
    func version(sku: SKUID) async throws -> String?
    /// Makes the gate agree with `ledger` (the database), unless its state changed since
    /// `version` was read. Reservations taken before `staleBefore` are dropped as lost
    /// (their node stopped between reserving and persisting).
    func repair(_ ledger: FlashSaleLedger, ifVersion version: String?, staleBefore: Date) async throws -> FlashSaleRepair
}

public enum FlashSaleReservation: Sendable, Equatable {
    case reserved
    case soldOut
    /// The buyer already holds a unit (or is a retry of their own order): the database decides.
    case alreadyHeld
    /// The gate does not track this SKU yet: the database decides alone.
    case notLoaded
}

/// A flash-sale SKU as the database has it: units left and the buyers holding one.
public struct FlashSaleLedger: Sendable, Equatable {
    public var skuID: SKUID
    public var stock: Int
    public var holders: Set<UserID>
    public init(skuID: SKUID, stock: Int, holders: Set<UserID>) {
        self.skuID = skuID
        self.stock = stock
        self.holders = holders
    }
}

/// What one repair did.
public enum FlashSaleRepair: Sendable, Equatable {
    /// The SKU was not in the gate; now it is.
    case loaded
    /// The gate agreed with the database.
    case agreed
    /// The gate disagreed and now agrees: the units it had and now has, the holders it
    /// added or dropped, and the lost reservations it undid.
    case repaired(stockBefore: Int, stockAfter: Int, holdersChanged: Int, lostReservations: Int)
    /// The state changed while the database was read (a sale is running): next time.
    case busy
}
