import Foundation

/// The buyer's catalogue as this node last answered it: each page of `GET /products` and
/// each product's detail, kept as the rendered answer (the HTTP layer renders it; here it
/// is opaque text), so a hit costs a lookup and no query, decoding or encoding.
///
/// **What it may show.** Products, SKUs, prices and shelf state are exact: every change an
/// admin makes (`CatalogService`) drops the whole cache on this node at once and, through
/// `ClusterCacheFeed.catalogue`, on every other node as soon as the announcement arrives.
/// Stock is a snapshot no older than `lifetime` (orders take stock without announcing
/// anything): fine for showing "12 left", and never used to decide a sale, which the order
/// transaction decides against the database.
///
/// Why everything is dropped on any change: a page holds many products and a product may
/// move between pages (shelf state), so working out which entries one edit touches would
/// cost more than reloading; edits are rare next to reads, and the reload is single-flight.
///
/// Bounded in entries and bytes (`ReadThroughCache`): cursors are client input, and a
/// client walking random valid cursors only ever clears the cache.
public final class CatalogCache: ClusterInvalidatedCache {
    /// One answer: a page of the listing (limit already validated) or a product's detail.
    public enum Key: Hashable, Sendable {
        case page(limit: Int, cursor: String?)
        case product(ProductID)
    }

    private let entries: ReadThroughCache<Key, String>
    private let announce: @Sendable (String) -> Void
    private let lifetime: TimeInterval

    /// - Parameters:
    ///   - lifetime: how old a cached answer (and so the stock it shows) may get; zero
    ///     turns the cache off.
    ///   - announce: tells the other nodes of a change (`ClusterCacheFeed.announce`).
    public init(lifetime: TimeInterval, capacity: Int = 2_000, maxBytes: Int = 32 << 20, clock: SwiftletClock,
                announce: @escaping @Sendable (String) -> Void = { _ in }) {
        entries = ReadThroughCache(lifetime: lifetime, capacity: capacity, maxBytes: maxBytes, clock: clock,
                                   cost: { $0.utf8.count })
        self.lifetime = lifetime
        self.announce = announce
    }

    public static let off = CatalogCache(lifetime: 0, clock: .system)

    /// Whether every read loads now: the cache is off, or bypassed while the cluster's
    /// announcements cannot be trusted. Such reads need no single flight through it.
    public var loadsEveryRead: Bool { lifetime <= 0 || isBypassed }

    /// The held answer, if fresh; never loads. For the inline lane.
    public func cached(_ key: Key) -> String? {
        entries.cached(key)
    }

    /// The held answer or what `render` produces (one load for all concurrent misses).
    /// Errors (an unknown product, a bad cursor) are passed on and never stored.
    public func answer(_ key: Key, render: @escaping @Sendable () async throws -> String) async throws -> String {
        // The cache passes on a nil load; `render` never returns one, but a nil answer is
        // rendered afresh rather than trusted.
        guard let answer = try await entries.value(for: key, load: { try await render() }) else { return try await render() }
        return answer
    }

    /// An admin changed the catalogue through this node (called after the write, whether
    /// it succeeded or not: it may have committed before an error): drop everything here,
    /// and tell the other nodes.
    public func changed(_ subject: String) {
        entries.invalidateAll()
        announce(subject)
    }

    /// Approximate bytes held; never more than the budget.
    public var byteCount: Int { entries.byteCount }

    // MARK: ClusterInvalidatedCache

    public func invalidate(announced payload: String) {
        entries.invalidateAll()
    }

    public func bypass() {
        entries.bypass()
    }

    public func resume() {
        entries.resume()
    }

    public var isBypassed: Bool { entries.isBypassed }
}
