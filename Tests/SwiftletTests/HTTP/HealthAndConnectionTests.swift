import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

@Suite("Health and connections")
struct HealthAndConnectionTests {
    @Test("ready checks the database", arguments: EngineKind.available)
    func readyChecksDatabase(kind: EngineKind) async throws {
        try await TestApp.withLiveApp(kind) { (client: any TestClientProtocol) async throws in
            try await client.execute(uri: "/health/live", method: .get) { response in
                #expect(response.status == .ok)
            }
            try await client.execute(uri: "/health/ready", method: .get) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body).contains(kind.rawValue))
            }
        }
    }

    @Test func readyIs503WhenTheDatabaseIsGone() async throws {
        try await TestStorage.withStorage(.sqlite) { storage in
            let app = try await TestApp.application(storage: storage)
            try await app.test(.live) { (client: any TestClientProtocol) async throws in
                try await storage.shutdown()
                try await client.execute(uri: "/health/ready", method: .get) { response in
                    #expect(response.status == .serviceUnavailable)
                    #expect(String(buffer: response.body).contains("health.database_unavailable"))
                }
                try await client.execute(uri: "/health/live", method: .get) { response in
                    #expect(response.status == .ok)
                }
            }
        }
    }

    @Test("a slowly dribbled request head is cut off at the header timeout")
    func slowlorisHead() async throws {
        let config = TestApp.config {
            $0.http.headerTimeoutSeconds = 0.5
            $0.http.idleTimeoutSeconds = 30
        }
        try await TestApp.withLiveApp(config: config) { (client: any TestClientProtocol) async throws in
            let connection = try await RawConnection.open(port: try #require(client.port))
            let chunks = ["GET /health/live HTTP/1.1\r\n"] + (0..<100).map { "X-Slow-\($0): y\r\n" }
            let outcome = try await connection.dribble(chunks, interval: .milliseconds(100), limit: .seconds(8))
            let closedAfter = try #require(outcome.closedAfter, "the server must close the connection")
            #expect(closedAfter < .seconds(3))
            #expect(closedAfter >= .milliseconds(400))
        }
    }

    @Test("a slowly dribbled body is cut off at the body timeout")
    func slowBody() async throws {
        let config = TestApp.config {
            $0.http.bodyTimeoutSeconds = 0.5
        }
        try await TestApp.withLiveApp(config: config) { (client: any TestClientProtocol) async throws in
            let connection = try await RawConnection.open(port: try #require(client.port))
            let head = "POST /test/echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\n"
            // Without the body timeout the dribble would run its whole 15 s; the bound
            // leaves room for a loaded machine.
            let outcome = try await connection.dribble([head] + Array(repeating: "a", count: 150), interval: .milliseconds(100), limit: .seconds(15))
            let closedAfter = try #require(outcome.closedAfter, "the server must close the connection")
            #expect(closedAfter < .seconds(8))
        }
    }

    @Test("an idle connection is closed at the idle timeout, an active one is kept")
    func idleConnection() async throws {
        // 1 s: well above the 300 ms between the active connection's requests even when the
        // parallel suites load both cores (at 0.5 s a late second request was sometimes cut).
        let config = TestApp.config { $0.http.idleTimeoutSeconds = 1 }
        try await TestApp.withLiveApp(config: config) { (client: any TestClientProtocol) async throws in
            let port = try #require(client.port)
            let idle = try await RawConnection.open(port: port)
            let silent = try await idle.dribble([], interval: .zero, limit: .seconds(5))
            #expect(try #require(silent.closedAfter) < .seconds(3))

            // Two requests 300 ms apart on one connection: both answered (keep-alive).
            let active = try await RawConnection.open(port: port)
            let request = "GET /health/live HTTP/1.1\r\nHost: t\r\n\r\n"
            let outcome = try await active.dribble([request, request], interval: .milliseconds(300), limit: .seconds(5))
            #expect(outcome.received.components(separatedBy: "HTTP/1.1 200").count - 1 == 2)
        }
    }

    @Test("a slow handler is not cut off by connection deadlines")
    func slowHandlerIsNotATimeout() async throws {
        // Every deadline well below the handler's 4 s, yet long enough that a loaded
        // machine delaying the client's request head does not trip the header or idle
        // deadline before the handler even starts.
        let config = TestApp.config {
            $0.http.headerTimeoutSeconds = 1.5
            $0.http.bodyTimeoutSeconds = 1.5
            $0.http.idleTimeoutSeconds = 1.5
        }
        try await TestApp.withLiveApp(config: config) { (client: any TestClientProtocol) async throws in
            try await client.execute(uri: "/test/slow?ms=4000", method: .get) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body) == "done")
            }
        }
    }
}
