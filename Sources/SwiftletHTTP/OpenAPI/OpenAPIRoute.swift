import Hummingbird
import NIOCore
import SwiftletTransport

/// Serves the API description at `GET /openapi.json`, for client generators, API
/// explorers and contract fuzzers.
public struct OpenAPIRoute: Sendable {
    public static let path = "/openapi.json"

    public init() {}

    public func register(on router: Router<SwiftletRequestContext>) {
        let body = ByteBuffer(string: OpenAPIDocument.json)
        router.get(RouterPath(Self.path)) { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: body))
        }
    }
}
