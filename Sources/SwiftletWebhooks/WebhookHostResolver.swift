#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import NIOPosix

/// Turns a host name into addresses. The system resolver in production; tests inject one
/// that answers what they need (including a different answer the second time, as a
/// rebinding DNS server does).
public protocol WebhookHostResolver: Sendable {
    /// Every address `host` resolves to, IPv4 and IPv6, without duplicates.
    func resolve(host: String) async throws -> [WebhookIPAddress]
}

/// The C library's `getaddrinfo`, which reads `/etc/hosts` and DNS exactly as the rest of
/// the system does, run on a NIO thread pool because it blocks: neither an event loop nor
/// a Swift concurrency thread may wait on DNS.
public struct SystemWebhookHostResolver: WebhookHostResolver {
    let threadPool: NIOThreadPool

    /// `threadPool` runs the blocking calls; pass a pool of its own to keep slow DNS from
    /// queueing the process's other blocking work.
    public init(threadPool: NIOThreadPool = .singleton) {
        self.threadPool = threadPool
    }

    public func resolve(host: String) async throws -> [WebhookIPAddress] {
        try await threadPool.runIfActive { try Self.lookUp(host: host) }
    }

    static func lookUp(host: String) throws(WebhookResolutionError) -> [WebhookIPAddress] {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        #if canImport(Glibc)
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #else
        hints.ai_socktype = SOCK_STREAM
        #endif
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, nil, &hints, &list)
        guard status == 0 else {
            throw WebhookResolutionError(message: String(cString: gai_strerror(status)))
        }
        defer { freeaddrinfo(list) }
        var addresses: [WebhookIPAddress] = []
        var entry = list
        while let current = entry?.pointee {
            if let socketAddress = current.ai_addr, let address = Self.address(of: socketAddress, family: current.ai_family),
               !addresses.contains(address) {
                addresses.append(address)
            }
            entry = current.ai_next
        }
        return addresses
    }

    static func address(of socketAddress: UnsafeMutablePointer<sockaddr>, family: Int32) -> WebhookIPAddress? {
        switch family {
        case AF_INET:
            socketAddress.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { pointer in
                withUnsafeBytes(of: pointer.pointee.sin_addr) { WebhookIPAddress(bytes: Array($0)) }
            }
        case AF_INET6:
            socketAddress.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { pointer in
                withUnsafeBytes(of: pointer.pointee.sin6_addr) { WebhookIPAddress(bytes: Array($0)) }
            }
        default:
            nil
        }
    }
}

/// `getaddrinfo` failed; `message` is the C library's (`Name or service not known`, …).
public struct WebhookResolutionError: Error, Sendable, Equatable, CustomStringConvertible {
    public let message: String

    public init(message: String) {
        self.message = message
    }

    public var description: String { message }
}
