import Hummingbird
import NIOCore
import SwiftletTransport

/// Serves the API description at `GET /openapi.json`, for client generators, API
/// explorers and contract fuzzers.
public struct OpenAPIRoute: Sendable {
    public static let path = "/openapi.json"

    public init() {}

    public func register(on router: Router<SwiftletRequestContext>) {
        router.get(RouterPath(Self.path)) { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: Self.body))
        }
    }

    /// Rendered on the first request for it, once: a static is initialised lazily, so the
    /// document (hundreds of schemas) costs start-up nothing.
    static let body = ByteBuffer(string: OpenAPIDocument.json)
}
