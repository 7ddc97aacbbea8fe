import Hummingbird
import NIOCore
import SwiftletCore

/// The three endpoints every stack in `bench/` serves, mounted (with `bench.endpoints`)
/// behind Swiftlet's full request path so the benchmark measures what production runs.
public struct BenchmarkRoutes: Sendable {
    struct Message: ResponseEncodable {
        let message: String
    }

    struct BenchUser: ResponseEncodable {
        let id: Int
        let name: String
        let tags: [String]
    }

    public init() {}

    public func register(on router: Router<SwiftletRequestContext>) {
        router.get("/plaintext") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; charset=utf-8"],
                     body: .init(byteBuffer: ByteBuffer(string: "Hello, World!")))
        }
        router.get("/json") { _, _ in
            Message(message: "Hello, World!")
        }
        router.get("/user/{id}") { _, context in
            guard let id = context.parameters.get("id", as: Int.self) else {
                throw SwiftletError.invalid("request.invalid_parameter", "The user id must be an integer.")
            }
            return BenchUser(id: id, name: "user-\(id)", tags: ["a", "b"])
        }
    }
}
