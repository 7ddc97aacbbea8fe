import Hummingbird
import NIOCore
import SwiftletCore

/// The three endpoints every stack in `bench/` serves, mounted (with `bench.endpoints`)
/// behind Swiftlet's full request path so the benchmark measures what production runs:
/// on the router, and on the inline lane like Swiftlet's other I/O-free reads.
/// Bodies are serialised per request, as every peer does.
public struct BenchmarkRoutes: Sendable {
    public init() {}

    public func register(on router: Router<SwiftletRequestContext>, inline: inout InlineRouteTable) {
        router.get("/plaintext") { _, _ in Self.plaintext().response }
        router.get("/json") { _, _ in Self.json().response }
        router.get("/user/{id}") { _, context in
            guard let response = Self.user(context.parameters.get("id")?[...]) else {
                throw SwiftletError.invalid("request.invalid_parameter", "The user id must be an integer.")
            }
            return response.response
        }
        inline.get("/plaintext") { _ in Self.plaintext() }
        inline.get("/json") { _ in Self.json() }
        inline.get("/user/{id}") { request in Self.user(request.parameter) }
    }

    static func plaintext() -> InlineResponse {
        .plainText("Hello, World!")
    }

    static func json() -> InlineResponse {
        var object = JSONObjectWriter()
        object.field("message", "Hello, World!")
        return .json(object.finish())
    }

    /// Nil for an id that is not an integer (the router answers that with a 400).
    static func user(_ parameter: Substring?) -> InlineResponse? {
        guard let parameter, let id = Int(parameter) else { return nil }
        var object = JSONObjectWriter()
        object.field("id", id)
        object.field("name", "user-\(id)")
        object.field("tags", ["a", "b"])
        return .json(object.finish())
    }
}
