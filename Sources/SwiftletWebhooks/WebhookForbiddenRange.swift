/// The address ranges a production webhook may not be delivered to, because an address
/// there reaches the node itself, the private network around it, or the cloud's metadata
/// service (which hands out credentials): an operator who can register a URL must not be
/// able to make the node fetch from them (server-side request forgery).
///
/// IPv6 forms that carry an IPv4 address (IPv4-mapped `::ffff:a.b.c.d`, NAT64
/// `64:ff9b::a.b.c.d`, 6to4 `2002:aabb:ccdd::`) are judged by the IPv4 address they
/// carry, so `::ffff:127.0.0.1` is loopback. Anything else outside the IPv6 global
/// unicast block `2000::/3` is reserved: no public receiver has such an address.
public enum WebhookForbiddenRange: Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// `0.0.0.0/8`, `::`: "this host", which a connect reaches as the node itself.
    case unspecified
    /// `127.0.0.0/8`, `::1`.
    case loopback
    /// `10.0.0.0/8`, `172.16.0.0/12`, `192.168.0.0/16`, `fc00::/7`, and the deprecated
    /// site-local `fec0::/10`.
    case privateNetwork
    /// `100.64.0.0/10`, carrier-grade NAT: a provider's internal network (Alibaba Cloud
    /// puts its metadata service there).
    case sharedAddressSpace
    /// `169.254.0.0/16`, `fe80::/10`: the local link (Tencent Cloud's and most clouds'
    /// metadata services live there).
    case linkLocal
    /// A cloud metadata service by its well-known address: `169.254.169.254` (AWS, GCP,
    /// Azure, …), `100.100.100.200` (Alibaba Cloud), `fd00:ec2::254` (AWS over IPv6).
    /// Named on its own so the refusal says plainly what the URL was after.
    case cloudMetadata
    /// `224.0.0.0/4`, `ff00::/8`.
    case multicast
    /// `240.0.0.0/4` (with the broadcast address), and IPv6 outside `2000::/3`.
    case reserved

    /// The forbidden range `address` is in, or `nil` when it may receive webhooks.
    public static func containing(_ address: WebhookIPAddress) -> WebhookForbiddenRange? {
        switch address {
        case .v4(let value): containing(ipv4: value)
        case .v6(let value): containing(ipv6: value)
        }
    }

    public var description: String {
        switch self {
        case .unspecified: "an unspecified address (0.0.0.0/8, ::)"
        case .loopback: "a loopback address (127.0.0.0/8, ::1)"
        case .privateNetwork: "a private address (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, fc00::/7)"
        case .sharedAddressSpace: "a carrier-grade NAT address (100.64.0.0/10)"
        case .linkLocal: "a link-local address (169.254.0.0/16, fe80::/10)"
        case .cloudMetadata: "a cloud metadata service address"
        case .multicast: "a multicast address (224.0.0.0/4, ff00::/8)"
        case .reserved: "a reserved address (240.0.0.0/4, IPv6 outside 2000::/3)"
        }
    }

    /// Checked in order: the metadata addresses before the ranges that hold them.
    static let ipv4Table = table([
        ("169.254.169.254/32", .cloudMetadata),
        ("100.100.100.200/32", .cloudMetadata),
        ("0.0.0.0/8", .unspecified),
        ("127.0.0.0/8", .loopback),
        ("10.0.0.0/8", .privateNetwork),
        ("172.16.0.0/12", .privateNetwork),
        ("192.168.0.0/16", .privateNetwork),
        ("100.64.0.0/10", .sharedAddressSpace),
        ("169.254.0.0/16", .linkLocal),
        ("224.0.0.0/4", .multicast),
        ("240.0.0.0/4", .reserved),
    ])

    static let ipv6Table = table([
        ("fd00:ec2::254/128", .cloudMetadata),
        ("::/128", .unspecified),
        ("::1/128", .loopback),
        ("fc00::/7", .privateNetwork),
        ("fec0::/10", .privateNetwork),
        ("fe80::/10", .linkLocal),
        ("ff00::/8", .multicast),
    ])

    /// The networks of a table written as text; the texts are constants, checked by the tests.
    static func table(_ entries: [(String, WebhookForbiddenRange)]) -> [(WebhookIPNetwork, WebhookForbiddenRange)] {
        entries.map { (WebhookIPNetwork($0.0)!, $0.1) }
    }

    static let ipv4Mapped = WebhookIPNetwork("::ffff:0:0/96")!
    static let nat64 = WebhookIPNetwork("64:ff9b::/96")!
    static let sixToFour = WebhookIPNetwork("2002::/16")!
    static let globalUnicast = WebhookIPNetwork("2000::/3")!

    static func containing(ipv4 value: UInt32) -> WebhookForbiddenRange? {
        let address = WebhookIPAddress.v4(value)
        return ipv4Table.first { $0.0.contains(address) }?.1
    }

    static func containing(ipv6 value: UInt128) -> WebhookForbiddenRange? {
        let address = WebhookIPAddress.v6(value)
        if ipv4Mapped.contains(address) || nat64.contains(address) {
            return containing(ipv4: UInt32(truncatingIfNeeded: value))
        }
        if sixToFour.contains(address) {
            return containing(ipv4: UInt32(truncatingIfNeeded: value >> 80))
        }
        if let named = ipv6Table.first(where: { $0.0.contains(address) })?.1 { return named }
        return globalUnicast.contains(address) ? nil : .reserved
    }
}
