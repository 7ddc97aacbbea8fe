import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import NIOHTTP1
import ServiceLifecycle
import SwiftletCore
import SwiftletTransport

/// The migration aid (`proxy.*`): requests to routes Swiftlet does not serve go to the
/// team's legacy backend, and a share of the requests to routes both serve (a canary), so a
/// team moves from its old Node or Java backend route by route.
///
/// Canary routes are `"METHOD /template"` entries. A request to one goes to the legacy
/// upstream when it carries `X-Swiftlet-Upstream: legacy`, stays here with
/// `X-Swiftlet-Upstream: swiftlet`, and otherwise goes there for `canaryPercent` % of
/// clients: the bucket is a hash of the `Authorization` header (or of the client address),
/// so one user's requests keep going to the same backend while the share grows.
///
/// The body limit, the seam's guards and the error shape apply as for any request; the
/// upstream's failures are 502 `proxy.upstream_unavailable` / `proxy.upstream_response_too_large`
/// and 504 `proxy.upstream_timeout`.
public final class LegacyProxy: UpstreamForwarder {
    public static let selectorHeader = "X-Swiftlet-Upstream"
    /// Hop-by-hop fields (RFC 9110 §7.6.1) and those the client recomputes: never forwarded.
    static let hopByHop: Set<String> = ["connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer",
                                        "upgrade", "proxy-authenticate", "proxy-authorization", "host", "content-length"]

    let upstream: String
    let timeout: TimeAmount
    let maxBodyBytes: Int
    let maxResponseBytes: Int
    let canaryRoutes: Set<String>
    let canaryPercent: Int
    let client: HTTPClient

    /// - Parameter client: nil: its own client, connecting within 2 s (or `timeout`), so an
    ///   upstream that is down is a prompt 502, not a wait for the whole timeout.
    public init(upstream: String, timeout: TimeAmount, maxBodyBytes: Int, maxResponseBytes: Int, canaryRoutes: Set<String>,
                canaryPercent: Int, client: HTTPClient? = nil) {
        self.upstream = upstream.hasSuffix("/") ? String(upstream.dropLast()) : upstream
        self.timeout = timeout
        self.maxBodyBytes = maxBodyBytes
        self.maxResponseBytes = maxResponseBytes
        self.canaryRoutes = canaryRoutes
        self.canaryPercent = canaryPercent
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .disallow,
            timeout: .init(connect: min(timeout, .seconds(2))),
            connectionPool: .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 64),
            decompression: .disabled)
        // No client spans: they would record forwarded URLs with their queries.
        configuration.tracing.tracer = nil
        self.client = client ?? HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    public func shutdown() async {
        try? await client.shutdown()
    }

    public func diverts(_ request: Request, route: String, client: String?) -> Bool {
        guard canaryRoutes.contains(request.method.rawValue + " " + route) else { return false }
        switch request.headers[HTTPField.Name(Self.selectorHeader)!]?.lowercased() {
        case "legacy": return true
        case "swiftlet": return false
        default:
            guard canaryPercent > 0 else { return false }
            let identity = request.headers[.authorization] ?? client ?? ""
            return Int(Self.bucket(identity)) < canaryPercent
        }
    }

    public func forward(_ request: Request, requestID: String, client peer: String?) async throws -> Response {
        var outbound = HTTPClientRequest(url: upstream + request.uri.string)
        outbound.method = HTTPMethod(rawValue: request.method.rawValue)
        for field in request.headers where !Self.hopByHop.contains(field.name.canonicalName) {
            outbound.headers.add(name: field.name.rawName, value: field.value)
        }
        if let host = request.head.authority { outbound.headers.replaceOrAdd(name: "X-Forwarded-Host", value: host) }
        if let peer {
            let forwarded = request.headers[HTTPField.Name("X-Forwarded-For")!].map { $0 + ", " + peer } ?? peer
            outbound.headers.replaceOrAdd(name: "X-Forwarded-For", value: forwarded)
        }
        outbound.headers.replaceOrAdd(name: "X-Request-Id", value: requestID)
        let body = try await request.body.collect(upTo: maxBodyBytes)
        if body.readableBytes > 0 || request.method != .get && request.method != .head {
            outbound.body = .bytes(body)
        }
        let answer: HTTPClientResponse
        let received: ByteBuffer
        do {
            answer = try await client.execute(outbound, timeout: timeout)
            received = try await answer.body.collect(upTo: maxResponseBytes)
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout {
            throw SwiftletError(.timeout, code: "proxy.upstream_timeout", message: "The legacy backend did not answer in time.")
        } catch is NIOTooManyBytesError {
            throw SwiftletError(.badGateway, code: "proxy.upstream_response_too_large",
                                message: "The legacy backend's answer is larger than this server forwards.")
        } catch {
            throw Self.unavailable
        }
        var headers = HTTPFields()
        for header in answer.headers where !Self.hopByHop.contains(header.name.lowercased()) {
            if let name = HTTPField.Name(header.name) { headers.append(HTTPField(name: name, value: header.value)) }
        }
        return Response(status: HTTPResponse.Status(code: Int(answer.status.code), reasonPhrase: answer.status.reasonPhrase),
                        headers: headers, body: ResponseBody(byteBuffer: received))
    }

    static let unavailable = SwiftletError(.badGateway, code: "proxy.upstream_unavailable",
                                           message: "The legacy backend cannot be reached.")

    /// 0..<100, stable for one identity (FNV-1a).
    public static func bucket(_ identity: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in identity.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return hash % 100
    }
}

/// Closes the proxy's connections when the application stops.
struct LegacyProxyService: Service {
    let proxy: LegacyProxy

    func run() async throws {
        try? await gracefulShutdown()
        await proxy.shutdown()
    }
}
