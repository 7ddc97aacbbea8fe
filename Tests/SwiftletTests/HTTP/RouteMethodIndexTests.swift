import HTTPTypes
import SwiftletHTTP
import SwiftletTransport
import Testing

@Suite("Route method index")
struct RouteMethodIndexTests {
    let index = RouteMethodIndex(routes: [
        (.get, "/health/live"),
        (.get, "/api/v1/orders/:id"),
        (.post, "/api/v1/orders/{id}/cancel"),
        (.delete, "/api/v1/orders/:id"),
        (.get, "/files/**"),
    ])

    @Test func literalAndParameterPaths() {
        #expect(index.allowedMethods(for: "/health/live") == [.get])
        #expect(index.allowedMethods(for: "/api/v1/orders/42") == [.get, .delete])
        #expect(index.allowedMethods(for: "/api/v1/orders/42/cancel") == [.post])
        #expect(index.allowedMethods(for: "/files/a/b/c") == [.get])
    }

    @Test func unknownPathsHaveNoMethods() {
        #expect(index.allowedMethods(for: "/health").isEmpty)
        #expect(index.allowedMethods(for: "/health/live/extra").isEmpty)
        #expect(index.allowedMethods(for: "/api/v1/orders").isEmpty)
        #expect(index.allowedMethods(for: "/").isEmpty)
    }
}
