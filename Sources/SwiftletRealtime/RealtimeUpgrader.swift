import Crypto
import Foundation
import NIOCore
import NIOHTTP1
import NIOWebSocket
import SwiftletCore
import SwiftletTransport

/// `GET /api/v1/realtime`: checks the WebSocket handshake, the token (when the upgrade
/// carries one: `wx.connectSocket` can send headers) and the connection limits before
/// switching, so a bad token gets the usual 401 JSON error and never a socket. Without a
/// token the socket opens and the first frame must bring one within `authTimeout`.
public struct RealtimeUpgrader: ConnectionUpgrader {
    public static let path = "/api/v1/realtime"
    public var path: String { Self.path }

    let environment: RealtimeEnvironment

    public init(environment: RealtimeEnvironment) {
        self.environment = environment
    }

    public func decide(_ request: UpgradeRequest) async -> UpgradeDecision {
        do {
            let key = try Self.checkHandshake(request)
            let (since, device) = try Self.parseQuery(request.query)
            var principal: Principal?
            if let authorization = request.header("authorization") {
                guard let token = Self.bearer(authorization) else {
                    throw AuthErrors.tokenMissing
                }
                let verified = try await environment.verify(token)
                guard environment.registry.reserve(verified.userID) else {
                    throw SwiftletError(.rateLimited, code: "realtime.too_many_connections",
                                        message: "This user already has \(environment.settings.maxConnectionsPerUser) realtime connections.")
                }
                principal = verified
            }
            guard environment.registry.admit() else {
                if let principal { environment.registry.cancelReservation(principal.userID) }
                throw SwiftletError(.unavailable, code: "realtime.node_full",
                                    message: "This node holds as many realtime connections as it may; retry (another node may answer).",
                                    retryAfterSeconds: 5)
            }
            let environment = self.environment
            let verified = principal
            let connectionID = "c_" + RandomID.base32(byteCount: 10)
            return .accept(UpgradeAcceptance(
                headers: [("Upgrade", "websocket"), ("Connection", "Upgrade"), ("Sec-WebSocket-Accept", Self.acceptValue(key))],
                install: { upgraded in
                    let settings = environment.settings
                    do {
                        try upgraded.addHandlers([
                            ByteToMessageHandler(WebSocketFrameDecoder(maxFrameSize: settings.maxFrameBytes)),
                            WebSocketFrameEncoder(),
                            NIOWebSocketFrameAggregator(
                                minNonFinalFragmentSize: 0, maxAccumulatedFrameCount: 64,
                                maxAccumulatedFrameSize: settings.maxFrameBytes),
                            RealtimeSocketHandler(environment: environment, principal: verified, since: since, device: device,
                                                  connectionID: connectionID),
                        ])
                    } catch {
                        environment.registry.release()
                        if let verified { environment.registry.cancelReservation(verified.userID) }
                        throw error
                    }
                }))
        } catch let error as SwiftletError {
            return .refuse(error)
        } catch {
            return .refuse(RealtimeSocketHandler.visible(error))
        }
    }

    /// The `Sec-WebSocket-Key` of a valid version-13 handshake.
    static func checkHandshake(_ request: UpgradeRequest) throws -> String {
        guard request.header("upgrade")?.lowercased() == "websocket",
              request.head.headers[canonicalForm: "connection"].contains(where: { $0.lowercased() == "upgrade" }) else {
            throw SwiftletError.invalid("realtime.not_websocket", "This endpoint speaks WebSocket: send `Upgrade: websocket` and `Connection: Upgrade`.")
        }
        guard request.header("sec-websocket-version") == "13" else {
            throw SwiftletError.invalid("realtime.unsupported_version", "Only WebSocket version 13 is supported.")
        }
        guard let key = request.header("sec-websocket-key"), let decoded = Data(base64Encoded: key), decoded.count == 16 else {
            throw SwiftletError.invalid("realtime.invalid_key", "`Sec-WebSocket-Key` must be 16 bytes in base64.")
        }
        return key
    }

    /// `since` (default 0) and `device` (default `default`) from the query.
    static func parseQuery(_ query: Substring) throws -> (since: Int64, device: String) {
        var since: Int64 = 0
        var device = "default"
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            let value = parts.count > 1 ? String(parts[1]) : ""
            switch parts.first {
            case "since":
                guard let parsed = Int64(value), parsed >= 0 else {
                    throw SwiftletError.invalid("realtime.invalid_since", "`since` must be a sequence number (0 or more).")
                }
                since = parsed
            case "device":
                guard (1...64).contains(value.utf8.count), value.utf8.allSatisfy(RandomID.isIdentifierByte) else {
                    throw SwiftletError.invalid("realtime.invalid_device", "`device` must be 1–64 letters, digits, `-`, `_` or `.`.")
                }
                device = value
            default:
                continue
            }
        }
        return (since, device)
    }

    static func bearer(_ authorization: String) -> String? {
        let parts = authorization.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer", !parts[1].isEmpty else { return nil }
        return String(parts[1])
    }

    /// RFC 6455 §4.2.2: base64(SHA-1(key + GUID)).
    static func acceptValue(_ key: String) -> String {
        let digest = Insecure.SHA1.hash(data: Data((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").utf8))
        return Data(digest).base64EncodedString()
    }
}
