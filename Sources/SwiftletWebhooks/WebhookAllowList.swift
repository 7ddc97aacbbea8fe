import Foundation

/// Hosts and networks an operator has declared internal receivers: a URL on one of these
/// hosts, or resolving into one of these networks, may receive webhooks although its
/// address is private. The allow-list lifts only the address check; `https` is still
/// required in production.
///
/// Hosts match exactly (case and a trailing dot aside): `hooks.internal` does not admit
/// `evil.hooks.internal`, so a wildcard DNS zone cannot widen it.
public struct WebhookAllowList: Sendable, Hashable {
    public private(set) var hosts: Set<String>
    public private(set) var networks: [WebhookIPNetwork]

    public init() {
        hosts = []
        networks = []
    }

    /// Reads configuration entries: a CIDR (`10.20.0.0/16`, `fd12::/48`), a single
    /// address (`10.20.0.7`, `::1`), or a host name (`hooks.internal`).
    public init(entries: [String]) throws(WebhookAllowListError) {
        self.init()
        for entry in entries {
            let trimmed = entry.trimmingCharacters(in: .whitespaces)
            if let network = WebhookIPNetwork(trimmed) {
                networks.append(network)
            } else if trimmed.contains("/") || trimmed.contains(":") {
                throw .invalidEntry(entry)
            } else if case .name(let host) = WebhookHostName.classify(trimmed) {
                hosts.insert(host)
            } else {
                throw .invalidEntry(entry)
            }
        }
    }

    /// Whether `host` (as `WebhookTarget.host` has it: lowercased, no trailing dot) is listed.
    public func contains(host: String) -> Bool {
        hosts.contains(host)
    }

    /// Whether `address` is in a listed network; an IPv4-mapped IPv6 address
    /// (`::ffff:10.20.0.1`) is the IPv4 host it maps, so an IPv4 network lists it too.
    public func contains(address: WebhookIPAddress) -> Bool {
        var candidates = [address]
        if case .v6(let value) = address, WebhookForbiddenRange.ipv4Mapped.contains(address) {
            candidates.append(.v4(UInt32(truncatingIfNeeded: value)))
        }
        return candidates.contains { candidate in networks.contains { $0.contains(candidate) } }
    }
}

public enum WebhookAllowListError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The entry is neither a CIDR, an address nor a host name.
    case invalidEntry(String)

    public var description: String {
        switch self {
        case .invalidEntry(let entry):
            "webhook allow-list entry \"\(entry)\" is not a host name, an IP address or a CIDR network with no host bits set"
        }
    }
}
