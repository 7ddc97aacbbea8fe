import Foundation

/// Limits and timings of the realtime gateway (config keys `realtime.*`).
public struct RealtimeSettings: Sendable, Equatable {
    /// How often the server pings; a client silent for two intervals is closed.
    public var pingInterval: TimeInterval = 25
    /// How long a connection that came without a token may take to send one.
    public var authTimeout: TimeInterval = 10
    /// How long after `token_expired` a client may send a fresh token before it is closed.
    public var tokenGrace: TimeInterval = 30
    /// Bytes written to a connection and not yet taken by the socket before it is closed
    /// as a slow consumer.
    public var maxQueuedBytes: Int = 1 << 20
    /// The largest frame (after reassembly of fragments) a client may send.
    public var maxFrameBytes: Int = 64 << 10
    public var maxConnectionsPerUser: Int = 16
    public var maxConnectionsPerNode: Int = 100_000
    /// Rooms one connection may follow at once.
    public var maxRoomsPerConnection: Int = 100
    /// Messages read from the database per catch-up query.
    public var catchUpBatch: Int = 500

    public init() {}
}
