import Foundation

/// Where services get "now" from. Injected so state machines and expiry logic can be
/// tested with a fixed or advancing clock instead of sleeping.
public struct SwiftletClock: Sendable {
    private let nowProvider: @Sendable () -> Date

    public init(_ now: @escaping @Sendable () -> Date) {
        self.nowProvider = now
    }

    public var now: Date { nowProvider() }

    /// Wall-clock time, UTC.
    public static let system = SwiftletClock { Date() }
}

extension Date {
    /// Milliseconds since the Unix epoch: how every engine stores instants (UTC, integer,
    /// identical on SQLite and PostgreSQL, sortable).
    public var unixMilliseconds: Int64 { Int64((timeIntervalSince1970 * 1000).rounded(.down)) }

    public init(unixMilliseconds: Int64) {
        self.init(timeIntervalSince1970: Double(unixMilliseconds) / 1000)
    }
}
