import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import SwiftletServer
import Testing

/// A route that throws Hummingbird's own `HTTPError` reaches the client with that status,
/// a stable code and the headers it carried — not as a 400 or a 500.
@Suite("HTTP framework statuses")
struct HTTPFrameworkStatusTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let status: HTTPResponse.Status
        let code: String
        let header: HTTPField.Name
        let value: String

        var testDescription: String { "\(status.code) \(code)" }
    }

    static let cases: [Case] = [
        Case(status: .unauthorized, code: "request.unauthorized", header: .wwwAuthenticate, value: #"Bearer realm="swiftlet""#),
        Case(status: .forbidden, code: "request.forbidden", header: HTTPField.Name("X-Reason")!, value: "scope"),
        Case(status: .conflict, code: "request.conflict", header: .eTag, value: #""v2""#),
        Case(status: .preconditionFailed, code: "request.precondition_failed", header: .eTag, value: #""v3""#),
        Case(status: .badGateway, code: "upstream.bad_gateway", header: .retryAfter, value: "7"),
        Case(status: .gatewayTimeout, code: "upstream.timeout", header: .retryAfter, value: "9"),
    ]

    /// `/test/status/{code}` throws `HTTPError(code)` carrying the case's header.
    static let customization = SwiftletCustomization(routes: { router, _ in
        router.get("/test/status/:code") { _, context -> String in
            let code = try context.parameters.require("code", as: Int.self)
            guard let match = cases.first(where: { $0.status.code == code }) else { throw HTTPError(.notFound) }
            throw HTTPError(match.status, headers: [match.header: match.value, .contentType: "text/plain"],
                            message: "refused by the test route")
        }
    })

    @Test("HTTPError keeps its status, gets a stable code and keeps its headers", arguments: cases)
    func keepsStatusCodeAndHeaders(_ expected: Case) async throws {
        try await TestStorage.withStorage(.sqlite) { storage in
            let app = try await TestApp.application(storage: storage, customization: Self.customization)
            try await app.test(.live) { (client: any TestClientProtocol) async throws in
                try await client.execute(uri: "/test/status/\(expected.status.code)", method: .get) { response in
                    #expect(response.status == expected.status)
                    let error = try HTTPErrorMappingTests.decodeError(response)
                    #expect(error.code == expected.code)
                    #expect(error.message == "refused by the test route")
                    #expect(response.headers[expected.header] == expected.value)
                    #expect(response.headers[.contentType] == "application/json; charset=utf-8", "the body is ours, so is its type")
                }
            }
        }
    }
}
