import Foundation
import NIOCore
import ServiceLifecycle
import SwiftletCore
import Testing

/// What reaches sockets besides direct messages, and how connections end: order events
/// from the order's own transaction, slow consumers, server shutdown.
@Suite("Realtime delivery", .serialized)
struct RealtimeDeliveryTests {
    @Test("an order closed by its buyer puts order.closed in the buyer's inbox, live on the socket", arguments: EngineKind.available)
    func orderEventsLive(_ kind: EngineKind) async throws {
        try await RealtimeHarness.run(kind, configure: { $0.commerce.demoCatalogue = true }) { harness in
            let bob = try await harness.login("buyer")
            let socket = try await harness.connect(bob.token)
            _ = try await socket.welcome()
            #expect(await socket.nextJSON()?["type"] as? String == "caught_up")
            let items = try #require(try await harness.api.json(.GET, "/api/v1/products")["items"] as? [[String: Any]])
            let sku = try #require((items.first?["skus"] as? [[String: Any]])?.first?["id"] as? String)
            let order = try await harness.api.json(.POST, "/api/v1/orders", json: #"{"items":[{"skuId":"\#(sku)","quantity":1}]}"#,
                                                   token: bob.token, key: UUID().uuidString)
            let orderID = try #require(order["id"] as? String)
            _ = try await harness.api.json(.POST, "/api/v1/orders/\(orderID)/cancel", token: bob.token)
            let event = try #require(await socket.nextJSON(timeout: .seconds(5)), "no event on the socket")
            #expect(event["type"] as? String == "message")
            #expect(event["kind"] as? String == "order.closed")
            #expect(event["seq"] as? Int == 1, "creating the order wrote no event; closing it wrote one")
            let payload = try #require(event["payload"] as? [String: Any])
            #expect(payload["orderId"] as? String == orderID)
            #expect(payload["status"] as? String == "cancelled")
            #expect(payload["cancelReason"] as? String == "user")
            // Cancelling again changes nothing and writes nothing.
            _ = try await harness.api.call(.POST, "/api/v1/orders/\(orderID)/cancel", token: bob.token)
            #expect(await socket.messages(1, timeout: .milliseconds(500)).isEmpty)
        }
    }

    @Test("a client that stops reading is cut off at its byte bound, and resumes with since without losing anything")
    func slowConsumer() async throws {
        try await RealtimeHarness.run(configure: {
            $0.realtime.maxQueuedBytes = 64 << 10
            $0.realtime.inboxMaxMessages = 10_000
        }) { harness in
            let alice = try await harness.login("alice")
            let bob = try await harness.login("bob")
            let slow = try await harness.connect(bob.token, autoRead: false)
            let sender = try await harness.connect(alice.token)
            _ = try await sender.welcome()
            // About 6 MB for Bob: more than the kernel buffers of both ends hold, so the
            // server's own queue must pass its 64 KiB bound.
            let text = String(repeating: "慢", count: 2_000)
            let total = 1_000
            for index in 1...total {
                let sent = try await sender.sendDirectMessage(to: bob.userID, text: text, id: "s\(index)")
                #expect(sent["type"] as? String == "sent")
            }
            // Now read what the server got through before it gave up on this client.
            try await slow.channel.setOption(ChannelOptions.autoRead, value: true).get()
            slow.channel.read()
            var received: [Int64] = []
            var ending: TestWebSocket.Event?
            while let event = await slow.next(timeout: .seconds(10)) {
                switch event {
                case .text(let text):
                    if let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
                       object["type"] as? String == "message", let seq = (object["seq"] as? NSNumber)?.int64Value {
                        received.append(seq)
                    }
                case .ping: continue
                case .close, .ended: ending = event
                }
                if ending != nil { break }
            }
            #expect(ending != nil, "the server closed the slow client")
            if case .close(let code, _) = ending { #expect(code == 4001) }
            #expect(received.count < total, "the slow client was cut off before everything was queued")
            #expect(received == Array(1...Int64(received.count)), "what arrived is a gapless prefix")
            let resumed = try await harness.connect(bob.token, since: received.last ?? 0, device: "d1")
            _ = try await resumed.welcome()
            let rest = await resumed.messages(total - received.count, timeout: .seconds(20))
            #expect(received + rest.seqs == Array(1...Int64(total)))
        }
    }

    @Test("a server shutting down closes every socket with 4000, so clients reconnect elsewhere")
    func shutdownClosesSockets() async throws {
        try await TestStorage.withStorage(.sqlite) { storage in
            let (ports, portSink) = AsyncStream.makeStream(of: Int.self)
            var customization = TestRoutes.customization
            customization.onServerRunning = { _, port in portSink.yield(port) }
            let app = try await TestApp.application(storage: storage, customization: customization)
            let group = ServiceGroup(configuration: .init(services: [app], logger: TestStorage.logger))
            let running = Task { try await group.run() }
            var iterator = ports.makeAsyncIterator()
            let port = try #require(await iterator.next())
            let harness = RealtimeHarness(port: port, storage: storage, api: LiveHTTPClient(port: port))
            let bob = try await harness.login("bob")
            let sockets = try await (0..<3).asyncMap { index in
                let socket = try await harness.connect(bob.token, device: "d\(index)")
                _ = try await socket.welcome()
                return socket
            }
            await group.triggerGracefulShutdown()
            for socket in sockets {
                #expect(await socket.untilClose().close?.code == 4000)
            }
            try await running.value
        }
    }
}
