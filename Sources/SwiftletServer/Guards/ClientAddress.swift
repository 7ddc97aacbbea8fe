import NIOCore
import SwiftletTransport
import SwiftletWebhooks

/// The client's address for per-IP limits: the connection's peer, unless the peer is a
/// trusted proxy (`http.trustedProxies`), in which case the right-most `X-Forwarded-For`
/// entry that is not a trusted proxy — entries further left were written by the client and
/// prove nothing.
public struct ClientAddress: Sendable {
    let trusted: [WebhookIPNetwork]

    public init(trustedProxies: [String]) {
        trusted = trustedProxies.compactMap { entry in
            WebhookIPNetwork(entry) ?? WebhookIPAddress(entry).flatMap {
                WebhookIPNetwork(address: $0, prefixLength: $0.description.contains(":") ? 128 : 32)
            }
        }
    }

    func isTrusted(_ text: Substring) -> Bool {
        guard let address = WebhookIPAddress(String(text)) else { return false }
        return trusted.contains { $0.contains(address) }
    }

    public func resolve(_ request: RequestStart) -> String? {
        guard let peer = request.client?.ipAddress else { return nil }
        guard !trusted.isEmpty, isTrusted(Substring(peer)), let forwarded = request.headers.first("X-Forwarded-For") else {
            return peer
        }
        let hops = forwarded.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        for hop in hops.reversed() where !isTrusted(Substring(hop)) {
            return String(hop.prefix(64))
        }
        return hops.first.map { String($0.prefix(64)) } ?? peer
    }
}
