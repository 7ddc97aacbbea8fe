import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

/// Every failure, whatever produced it, has the same JSON shape and carries the request id.
@Suite("HTTP error mapping")
struct HTTPErrorMappingTests {
    struct ErrorBody: Decodable {
        struct Detail: Decodable {
            let code: String
            let message: String
            let requestId: String
        }
        let error: Detail
    }

    static func decodeError(_ response: TestResponse) throws -> ErrorBody.Detail {
        #expect(response.headers[.contentType]?.hasPrefix("application/json") == true)
        let body = try JSONDecoder().decode(ErrorBody.self, from: Data(buffer: response.body))
        #expect(body.error.requestId == response.headers[.requestID], "the body carries the echoed request id")
        #expect(!body.error.requestId.isEmpty)
        return body.error
    }

    @Test func unknownRouteIs404() async throws {
        try await TestApp.withLiveApp { (client: any TestClientProtocol) async throws in
            try await client.execute(uri: "/no/such/route", method: .get) { response in
                #expect(response.status == .notFound)
                let error = try Self.decodeError(response)
                #expect(error.code == "route.not_found")
            }
        }
    }

    @Test func wrongMethodIs405WithAllow() async throws {
        try await TestApp.withLiveApp { (client: any TestClientProtocol) async throws in
            try await client.execute(uri: "/health/ready", method: .delete) { response in
                #expect(response.status == .methodNotAllowed)
                #expect(response.headers[.allow] == "GET")
                let error = try Self.decodeError(response)
                #expect(error.code == "route.method_not_allowed")
            }
            try await client.execute(uri: "/test/echo", method: .get) { response in
                #expect(response.status == .methodNotAllowed)
                #expect(response.headers[.allow] == "POST")
            }
        }
    }

    @Test func malformedJSONIs400() async throws {
        try await TestApp.withLiveApp { (client: any TestClientProtocol) async throws in
            try await client.execute(uri: "/test/echo", method: .post, body: ByteBuffer(string: #"{"name": "a", "age": "#)) { response in
                #expect(response.status == .badRequest)
                let error = try Self.decodeError(response)
                #expect(error.code == "request.malformed_json")
            }
        }
    }

    @Test func missingFieldNamesTheField() async throws {
        try await TestApp.withLiveApp { (client: any TestClientProtocol) async throws in
            try await client.execute(uri: "/test/echo", method: .post, body: ByteBuffer(string: #"{"name": "a"}"#)) { response in
                #expect(response.status == .badRequest)
                let error = try Self.decodeError(response)
                #expect(error.code == "request.missing_field")
                #expect(error.message.contains("'age'"))
            }
        }
    }

    @Test func wrongTypeNamesTheField() async throws {
        try await TestApp.withLiveApp { (client: any TestClientProtocol) async throws in
            try await client.execute(uri: "/test/echo", method: .post, body: ByteBuffer(string: #"{"name": "a", "age": "ten"}"#)) { response in
                #expect(response.status == .badRequest)
                let error = try Self.decodeError(response)
                #expect(error.code == "request.invalid_type")
                #expect(error.message.contains("'age'"))
                #expect(error.message.contains("integer"))
            }
            try await client.execute(uri: "/test/echo", method: .post, body: ByteBuffer(string: "[1,2]")) { response in
                let error = try Self.decodeError(response)
                #expect(error.code == "request.invalid_type")
            }
            try await client.execute(uri: "/test/echo", method: .post) { response in
                let error = try Self.decodeError(response)
                #expect(error.code == "request.empty_body")
            }
        }
    }

    @Test func validBodyStillWorks() async throws {
        try await TestApp.withLiveApp { (client: any TestClientProtocol) async throws in
            try await client.execute(uri: "/test/echo", method: .post, body: ByteBuffer(string: #"{"name": "李雷", "age": 30}"#)) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body).contains("李雷"))
            }
        }
    }

    @Test func oversizedBodyIs413AndServerKeepsServing() async throws {
        try await TestApp.withLiveApp { (client: any TestClientProtocol) async throws in
            // A client announcing 20 MB gets 413 before it has sent the body, and the
            // connection is closed rather than read to the end.
            let connection = try await RawConnection.open(port: try #require(client.port))
            let head = "POST /test/echo HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: \(20 * 1024 * 1024)\r\n\r\n"
            let outcome = try await connection.dribble([head, String(repeating: "a", count: 65536)], interval: .milliseconds(20), limit: .seconds(5))
            #expect(outcome.received.hasPrefix("HTTP/1.1 413"))
            #expect(outcome.received.contains("request.body_too_large"))
            #expect(outcome.received.lowercased().contains("connection: close"))
            #expect(outcome.closedAfter != nil)
            try await client.execute(uri: "/health/live", method: .get) { response in
                #expect(response.status == .ok)
            }
        }
    }

    @Test func chunkedBodyOverTheLimitIs413() async throws {
        let config = TestApp.config { $0.http.maxBodyBytes = 1024 }
        try await TestApp.withLiveApp(config: config) { (client: any TestClientProtocol) async throws in
            let port = try #require(client.port)
            let connection = try await RawConnection.open(port: port)
            let chunk = String(repeating: "x", count: 800)
            let hex = String(chunk.utf8.count, radix: 16)
            let request = "POST /test/echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                + "\(hex)\r\n\(chunk)\r\n\(hex)\r\n\(chunk)\r\n0\r\n\r\n"
            let outcome = try await connection.dribble([request], interval: .milliseconds(10), limit: .seconds(3))
            #expect(outcome.received.hasPrefix("HTTP/1.1 413"))
            #expect(outcome.received.contains("request.body_too_large"))
        }
    }

    @Test func unexpectedErrorIs500WithoutDetail() async throws {
        try await TestApp.withLiveApp { (client: any TestClientProtocol) async throws in
            try await client.execute(uri: "/test/crash", method: .get) { response in
                #expect(response.status == .internalServerError)
                let error = try Self.decodeError(response)
                #expect(error.code == "internal.error")
                #expect(!error.message.contains("Failure"), "internal detail stays in the log")
            }
        }
    }

    @Test func domainErrorKeepsItsCodeAndStatus() async throws {
        try await TestApp.withLiveApp { (client: any TestClientProtocol) async throws in
            try await client.execute(uri: "/test/domain-conflict", method: .get) { response in
                #expect(response.status == .conflict)
                let error = try Self.decodeError(response)
                #expect(error.code == "test.conflict")
            }
        }
    }

    @Test func requestIDIsEchoedOrGenerated() async throws {
        try await TestApp.withLiveApp { (client: any TestClientProtocol) async throws in
            try await client.execute(uri: "/health/live", method: .get, headers: [.requestID: "trace-abc.123"]) { response in
                #expect(response.headers[.requestID] == "trace-abc.123")
            }
            try await client.execute(uri: "/health/live", method: .get, headers: [.requestID: "bad id\u{7f}<script>"]) { response in
                let id = try #require(response.headers[.requestID])
                #expect(id != "bad id\u{7f}<script>", "unsafe ids are replaced")
            }
            var seen: Set<String> = []
            for _ in 0..<5 {
                try await client.execute(uri: "/health/live", method: .get) { response in
                    seen.insert(response.headers[.requestID] ?? "")
                }
            }
            #expect(seen.count == 5)
        }
    }
}

extension HTTPField.Name {
    static let requestID = HTTPField.Name("X-Request-Id")!
}
