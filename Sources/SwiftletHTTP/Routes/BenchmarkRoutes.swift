import Hummingbird
import NIOCore
import SwiftletCore
import SwiftletTransport

/// The three endpoints every stack in `bench/` serves, mounted (with `bench.endpoints`)
/// behind Swiftlet's full request path so the benchmark measures what production runs:
/// on the router, and on the inline lane like Swiftlet's other I/O-free reads.
/// Bodies are serialised per request, as every peer does.
public struct BenchmarkRoutes: Sendable {
    public init() {}

    public func register(on routes: SwiftletRoutes) {
        routes.get("/plaintext", always: { _ in Self.plaintext() })
        routes.get("/json", always: { _ in Self.json() })
        routes.get("/user/{id}", answer: { request in Self.user(request.parameter) }, otherwise: { _, _ in
            throw SwiftletError.invalid("request.invalid_parameter", "The user id must be an integer.")
        })
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
