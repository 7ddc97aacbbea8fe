import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Synchronization
import SwiftletWebhooks

/// Sends webhooks with AsyncHTTPClient, connecting to the address the URL policy checked
/// rather than resolving the host again (which a rebinding DNS server could answer
/// differently a moment later), while TLS still verifies the certificate for the URL's
/// host name (the pinned address is a DNS override; SNI and verification keep the name).
///
/// One client per pinned (host, address), kept in a bounded table so connections to a
/// receiver are reused across deliveries; an idle client beyond the bound is shut down.
/// Redirects are never followed (a 3xx is a failed attempt), and only the first 1 KiB of
/// an answer's body is read.
public final class HTTPWebhookTransport: WebhookTransport {
    static let maxClients = 128
    static let bodyPrefixBytes = 1024

    struct Entry {
        let client: HTTPClient
        var inFlight: Int
        var lastUsed: UInt64
    }

    private let clients = Mutex<(entries: [String: Entry], tick: UInt64)>(([:], 0))
    private let userAgent: String

    public init(userAgent: String = "Swiftlet-Webhooks/1") {
        self.userAgent = userAgent
    }

    public func send(_ request: WebhookRequest) async -> WebhookAnswer {
        let target = request.destination.target
        guard let address = request.destination.addresses.first else {
            return .failure("the host \(target.host) resolved to no address")
        }
        let key = "\(target.scheme)|\(target.host)|\(address)"
        let client = lease(key: key, host: target.host, address: address, pin: target.address == nil)
        defer { release(key: key) }

        var outbound = HTTPClientRequest(url: target.url.absoluteString)
        outbound.method = .POST
        outbound.headers.add(name: "content-type", value: "application/json")
        outbound.headers.add(name: "user-agent", value: userAgent)
        for (name, value) in request.headers { outbound.headers.add(name: name, value: value) }
        outbound.body = .bytes(ByteBuffer(bytes: request.body))
        let deadline = NIODeadline.now() + TimeAmount(request.timeout)
        do {
            let response = try await client.execute(outbound, deadline: deadline)
            var prefix = ByteBuffer()
            for try await part in response.body {
                var part = part
                let take = min(part.readableBytes, Self.bodyPrefixBytes - prefix.readableBytes)
                if take > 0, let slice = part.readSlice(length: take) { prefix.writeImmutableBuffer(slice) }
                if prefix.readableBytes >= Self.bodyPrefixBytes { break }
            }
            return .response(
                status: Int(response.status.code), retryAfter: response.headers.first(name: "retry-after"),
                body: String(decoding: prefix.readableBytesView, as: UTF8.self))
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout {
            return .failure("no answer within \(request.timeout)")
        } catch {
            return .failure(Self.describe(error))
        }
    }

    public func shutdown() async {
        let all = clients.withLock { state in
            defer { state.entries = [:] }
            return state.entries.values.map(\.client)
        }
        for client in all { try? await client.shutdown() }
    }

    private func lease(key: String, host: String, address: WebhookIPAddress, pin: Bool) -> HTTPClient {
        var evicted: [HTTPClient] = []
        let client = clients.withLock { state -> HTTPClient in
            state.tick += 1
            if var entry = state.entries[key] {
                entry.inFlight += 1
                entry.lastUsed = state.tick
                state.entries[key] = entry
                return entry.client
            }
            while state.entries.count >= Self.maxClients,
                  let idle = state.entries.filter({ $0.value.inFlight == 0 }).min(by: { $0.value.lastUsed < $1.value.lastUsed }) {
                evicted.append(idle.value.client)
                state.entries[idle.key] = nil
            }
            var configuration = HTTPClient.Configuration(
                redirectConfiguration: .disallow, timeout: .init(connect: .seconds(5)))
            if pin { configuration.dnsOverride = [host: "\(address)"] }
            // The delivery's own span (`webhook deliver`) describes the attempt; the
            // client's would repeat it with the full URL.
            configuration.tracing.tracer = nil
            let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
            state.entries[key] = Entry(client: client, inFlight: 1, lastUsed: state.tick)
            return client
        }
        for client in evicted { Task { try? await client.shutdown() } }
        return client
    }

    private func release(key: String) {
        clients.withLock { state in state.entries[key]?.inFlight -= 1 }
    }

    /// A short reason for an attempt's record: the kind of failure, never a URL (which may
    /// carry a receiver's token in its query).
    static func describe(_ error: any Error) -> String {
        if let error = error as? HTTPClientError {
            switch error {
            case .connectTimeout: return "connection timed out"
            case .remoteConnectionClosed: return "the receiver closed the connection"
            case .cancelled: return "cancelled"
            default: return "HTTP client error: \(String(describing: error).prefix(120))"
            }
        }
        if let error = error as? IOError { return "connection failed: \(String(describing: error).prefix(120))" }
        return "delivery failed: \(String(String(describing: type(of: error))).prefix(80))"
    }
}
