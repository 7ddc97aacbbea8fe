import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import ServiceLifecycle
import SwiftletCore
import SwiftletServer
import Testing

@Suite("Graceful shutdown")
struct GracefulShutdownTests {
    @Test("shutdown lets a request in flight finish, then closes the database", arguments: EngineKind.available)
    func inFlightRequestCompletes(kind: EngineKind) async throws {
        try await TestStorage.withStorage(kind) { storage in
            let (ports, portSink) = AsyncStream.makeStream(of: Int.self)
            var customization = TestRoutes.customization
            customization.onServerRunning = { _, port in portSink.yield(port) }
            let app = try await TestApp.application(storage: storage, customization: customization)
            let group = ServiceGroup(configuration: .init(services: [app], logger: TestStorage.logger))
            let running = Task { try await group.run() }
            var iterator = ports.makeAsyncIterator()
            let port = try #require(await iterator.next())

            let inFlight = Task {
                let response = try await HTTPClient.shared.execute(
                    HTTPClientRequest(url: "http://127.0.0.1:\(port)/test/slow?ms=1500"), timeout: .seconds(10))
                return (response.status.code, String(buffer: try await response.body.collect(upTo: 1024)))
            }
            try await Task.sleep(for: .milliseconds(400))
            let shutdownStarted = ContinuousClock.now
            await group.triggerGracefulShutdown()

            let (status, body) = try await inFlight.value
            #expect(status == 200)
            #expect(body == "done")
            try await running.value
            #expect(ContinuousClock.now - shutdownStarted >= .milliseconds(900), "shutdown waited for the request")
            await #expect(throws: SwiftletError.self, "storage is closed after the server drained") {
                try await storage.ping()
            }
        }
    }
}
