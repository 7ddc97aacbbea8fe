import Foundation
import Hummingbird
import HummingbirdTesting
import SwiftletCore
import SwiftletHTTP
import SwiftletServer
import SwiftletTransport
import Synchronization
import Testing

/// The OpenAPI document against the router: every route the application registers is
/// documented, and every documented operation exists. The live server is fuzzed against
/// the same document by `scripts/schemathesis.sh`.
@Suite("OpenAPI contract")
struct OpenAPIContractTests {
    /// Routes deliberately left out of the document: development fakes of WeChat's servers
    /// and the benchmark endpoints, which production does not mount.
    static let excludedPrefixes = ["/sandbox/wechat/", "/sandbox/wechatpay/"]
    static let excludedRoutes: Set<String> = ["GET /plaintext", "GET /json", "GET /user/{id}"]

    static func isExcluded(_ route: String) -> Bool {
        excludedRoutes.contains(route) || excludedPrefixes.contains { route.split(separator: " ")[1].hasPrefix($0) }
    }

    /// Builds the application as `serve` does (sandboxes, notify route and benchmark
    /// endpoints all mounted) and runs `body` with its router's routes and a live client.
    static func withApplication(
        _ body: @escaping @Sendable (_ routes: Set<String>, _ client: any TestClientProtocol) async throws -> Void
    ) async throws {
        try await TestStorage.withStorage(.sqlite) { storage in
            let captured = Mutex<[(method: String, path: String)]>([])
            var customization = SwiftletCustomization()
            customization.runsJobWorker = false
            customization.onComponents = { components in captured.withLock { $0 = components.routes } }
            let app = try await TestApp.application(
                storage: storage, config: TestApp.config { $0.benchEndpoints = true }, customization: customization)
            let routes = Set(captured.withLock { $0 }.map { "\($0.method) \($0.path)" })
            try await app.test(.live) { (client: any TestClientProtocol) async throws in
                try await body(routes, client)
            }
        }
    }

    static func documented(_ document: [String: Any]) throws -> Set<String> {
        let paths = try #require(document["paths"] as? [String: [String: Any]])
        let methods: Set<String> = ["get", "put", "post", "delete", "options", "head", "patch", "trace"]
        return Set(paths.flatMap { path, item in item.keys.filter(methods.contains).map { "\($0.uppercased()) \(path)" } })
    }

    static func served(_ client: any TestClientProtocol) async throws -> [String: Any] {
        try await client.execute(uri: "/openapi.json", method: .get) { response in
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == "application/json")
            return try #require(try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any])
        }
    }

    @Test("every registered route is documented and every documented route is registered")
    func documentMatchesRouter() async throws {
        try await Self.withApplication { routes, client in
            let document = try await Self.served(client)
            #expect(document["openapi"] as? String == "3.1.0")
            let documented = try Self.documented(document)
            let served = routes.filter { !Self.isExcluded($0) }
            #expect(served.subtracting(documented).sorted() == [], "registered but not documented")
            #expect(documented.subtracting(served).sorted() == [], "documented but not registered")
            // The exclusions name real routes, so a renamed one cannot hide a new route.
            #expect(Self.excludedRoutes.subtracting(routes).sorted() == [])
            for prefix in Self.excludedPrefixes {
                #expect(routes.contains { $0.contains(" \(prefix)") }, "no route under \(prefix)")
            }
            #expect(documented == Set(OpenAPIDocument.routes.map { "\($0.method) \($0.path)" }))
        }
    }

    @Test("a route missing from the document or an operation without a route is reported")
    func comparisonDetectsDrift() throws {
        let documented: Set<String> = ["GET /api/v1/me", "GET /health/live"]
        let routes: Set<String> = ["GET /api/v1/me", "PATCH /api/v1/me", "GET /json", "GET /sandbox/wechat/sns/jscode2session"]
        let served = routes.filter { !Self.isExcluded($0) }
        #expect(served.subtracting(documented) == ["PATCH /api/v1/me"])
        #expect(documented.subtracting(served) == ["GET /health/live"])
    }

    @Test("every reference resolves and every failure answer is the error body with its codes")
    func documentIsWellFormed() throws {
        let document = try #require(try JSONSerialization.jsonObject(with: Data(OpenAPIDocument.json.utf8)) as? [String: Any])
        let components = try #require(document["components"] as? [String: Any])
        let schemas = try #require(components["schemas"] as? [String: Any])
        var references: [String] = []
        func collect(_ value: Any) {
            if let object = value as? [String: Any] {
                if let reference = object["$ref"] as? String { references.append(reference) }
                object.values.forEach(collect)
            } else if let array = value as? [Any] {
                array.forEach(collect)
            }
        }
        collect(document)
        #expect(!references.isEmpty)
        for reference in references {
            let name = try #require(reference.split(separator: "/").last.map(String.init))
            #expect(reference == "#/components/schemas/\(name)" && schemas[name] != nil, "unresolved \(reference)")
        }

        let paths = try #require(document["paths"] as? [String: [String: [String: Any]]])
        for (path, item) in paths {
            for (method, operation) in item {
                let responses = try #require(operation["responses"] as? [String: [String: Any]])
                // A WebSocket endpoint's success is 101 Switching Protocols.
                #expect(responses.keys.contains { $0.hasPrefix("2") || $0 == "101" }, "\(method) \(path) has no success answer")
                for (status, response) in responses where Int(status)! >= 400 && path != PaymentNotifyRoute.path {
                    let codes = try Self.errorCodes(response)
                    #expect(!codes.isEmpty, "\(method) \(path) \(status) lists no error codes")
                }
            }
        }
    }

    /// The `enum` of `error.code` in an error answer's schema.
    static func errorCodes(_ response: [String: Any]) throws -> [String] {
        let content = try #require(response["content"] as? [String: [String: Any]])
        let schema = try #require(content["application/json"]?["schema"] as? [String: Any])
        let error = try #require((schema["properties"] as? [String: Any])?["error"] as? [String: Any])
        let code = try #require((error["properties"] as? [String: Any])?["code"] as? [String: Any])
        return try #require(code["enum"] as? [String])
    }
}
