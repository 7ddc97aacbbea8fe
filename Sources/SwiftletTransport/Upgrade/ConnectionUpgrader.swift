import NIOCore
import NIOHTTP1
import SwiftletCore

/// A protocol the server switches a connection to (the realtime WebSocket), offered on
/// one path. The transport finds the request, passes it through the seam like every
/// other request, asks the upgrader, and either writes its refusal as the usual JSON
/// error or writes `101 Switching Protocols`, takes the HTTP handlers out of the
/// connection and lets the upgrader install its own.
public protocol ConnectionUpgrader: Sendable {
    /// The path (and route template) the upgrade is offered on, e.g. `/api/v1/realtime`.
    var path: String { get }

    /// Accepts or refuses; runs off the event loop and may wait (token checks). The
    /// connection reads nothing more until the answer is written.
    func decide(_ request: UpgradeRequest) async -> UpgradeDecision
}

/// What an upgrader sees of the request that asks to switch.
public struct UpgradeRequest: Sendable {
    public let head: HTTPRequestHead
    public let requestID: String
    public let client: SocketAddress?

    public init(head: HTTPRequestHead, requestID: String, client: SocketAddress?) {
        self.head = head
        self.requestID = requestID
        self.client = client
    }

    /// The first value of a header (name case-insensitive).
    public func header(_ name: String) -> String? {
        head.headers.first(name: name)
    }

    /// The raw query string (after `?`), empty when there is none.
    public var query: Substring {
        guard let mark = head.uri.firstIndex(of: "?") else { return "" }
        return head.uri[head.uri.index(after: mark)...]
    }
}

public enum UpgradeDecision: Sendable {
    /// Answer with this error (as the router would), then close the connection.
    case refuse(SwiftletError)
    /// Switch: `101` with these headers, then `install` on the event loop.
    case accept(UpgradeAcceptance)
}

public struct UpgradeAcceptance: Sendable {
    /// Headers of the `101` answer besides the request id, date and server
    /// (`Upgrade`, `Connection`, `Sec-WebSocket-Accept`).
    public var headers: [(name: String, value: String)]
    /// Adds the new protocol's handlers, once the HTTP ones are gone. Called on the
    /// connection's event loop; a throw closes the connection.
    public var install: @Sendable (UpgradedChannel) throws -> Void

    public init(headers: [(name: String, value: String)], install: @escaping @Sendable (UpgradedChannel) throws -> Void) {
        self.headers = headers
        self.install = install
    }
}

/// The connection after the switch, with only transport-level handlers (TLS) left and
/// whatever sits at the tail; new handlers go right behind TLS.
public struct UpgradedChannel {
    public let channel: any Channel
    let front: (any ChannelHandler)?

    /// Adds `handlers` in order at the front of the connection (behind TLS when there is TLS).
    public func addHandlers(_ handlers: [any ChannelHandler]) throws {
        let pipeline = channel.pipeline.syncOperations
        if let front {
            var previous = front
            for handler in handlers {
                try pipeline.addHandler(handler, position: .after(previous))
                previous = handler
            }
        } else {
            try pipeline.addHandlers(handlers, position: .first)
        }
    }
}
