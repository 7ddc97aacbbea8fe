#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An IPv4 or IPv6 address as a number, so ranges are a mask and a compare.
public enum WebhookIPAddress: Sendable, Hashable, CustomStringConvertible {
    case v4(UInt32)
    case v6(UInt128)

    /// Reads the canonical text forms only, through the C library's `inet_pton`:
    /// dotted-decimal IPv4 with four parts and no leading zeros, IPv6 with or without an
    /// embedded IPv4 tail, without brackets or a zone. The shorthand forms that `inet_aton`
    /// and URL parsers accept (`127.1`, `0x7f.0.0.1`, `2130706433`) are not addresses here;
    /// the URL policy refuses them outright.
    public init?(_ text: String) {
        if text.contains(":") {
            var storage = in6_addr()
            guard inet_pton(AF_INET6, text, &storage) == 1 else { return nil }
            self = withUnsafeBytes(of: &storage) { Self(bytes: Array($0)) }
        } else {
            var storage = in_addr()
            guard inet_pton(AF_INET, text, &storage) == 1 else { return nil }
            self = withUnsafeBytes(of: &storage) { Self(bytes: Array($0)) }
        }
    }

    /// An address from its bytes in network order: 4 for IPv4, 16 for IPv6.
    init(bytes: [UInt8]) {
        precondition(bytes.count == 4 || bytes.count == 16, "an IP address has 4 or 16 bytes")
        if bytes.count == 4 {
            self = .v4(bytes.reduce(0) { $0 << 8 | UInt32($1) })
        } else {
            self = .v6(bytes.reduce(0) { $0 << 8 | UInt128($1) })
        }
    }

    /// The address in network order.
    var bytes: [UInt8] {
        switch self {
        case .v4(let value): (0..<4).map { UInt8(truncatingIfNeeded: value >> (24 - 8 * $0)) }
        case .v6(let value): (0..<16).map { UInt8(truncatingIfNeeded: value >> (120 - 8 * $0)) }
        }
    }

    /// The canonical text form (`inet_ntop`): `10.0.0.1`, `::ffff:127.0.0.1`, `fe80::1`.
    public var description: String {
        var bytes = bytes
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        let family = bytes.count == 4 ? AF_INET : AF_INET6
        _ = inet_ntop(family, &bytes, &text, socklen_t(text.count))
        return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// A network in CIDR form (`10.0.0.0/8`, `fd00::/8`): an allow-list entry, or a range the
/// policy forbids.
public struct WebhookIPNetwork: Sendable, Hashable, CustomStringConvertible {
    public let address: WebhookIPAddress
    public let prefixLength: Int

    /// A network whose address has no bits set past the prefix; `nil` otherwise, since
    /// `10.0.0.1/8` is most likely a typo for something narrower than what it would mean.
    public init?(address: WebhookIPAddress, prefixLength: Int) {
        let width = address.bitWidth
        guard (0...width).contains(prefixLength) else { return nil }
        guard address.value & ~Self.mask(prefixLength, width: width) == 0 else { return nil }
        self.address = address
        self.prefixLength = prefixLength
    }

    /// Reads `address/prefix`, or a bare address as a network of that one address.
    public init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let address = WebhookIPAddress(String(parts[0])) else { return nil }
        if parts.count == 1 {
            self.init(address: address, prefixLength: address.bitWidth)
            return
        }
        let prefix = parts[1]
        guard !prefix.isEmpty, prefix.count <= 3, prefix.allSatisfy(\.isASCII), prefix.allSatisfy(\.isNumber),
              let length = Int(prefix)
        else { return nil }
        self.init(address: address, prefixLength: length)
    }

    /// Whether `candidate` is in this network; an address of the other family never is.
    public func contains(_ candidate: WebhookIPAddress) -> Bool {
        guard candidate.bitWidth == address.bitWidth else { return false }
        return candidate.value & Self.mask(prefixLength, width: address.bitWidth) == address.value
    }

    public var description: String { "\(address)/\(prefixLength)" }

    /// `length` one bits followed by zeros, over `width` bits.
    static func mask(_ length: Int, width: Int) -> UInt128 {
        guard length > 0 else { return 0 }
        let all: UInt128 = width == 128 ? .max : (1 << width) - 1
        return all & ~((1 << (width - length)) - 1)
    }
}

extension WebhookIPAddress {
    var bitWidth: Int {
        switch self {
        case .v4: 32
        case .v6: 128
        }
    }

    /// The address as a number of `bitWidth` bits.
    var value: UInt128 {
        switch self {
        case .v4(let value): UInt128(value)
        case .v6(let value): value
        }
    }
}
