import Foundation
import SwiftletCore
import Testing

/// The realtime gateway over real sockets: the handshake and its refusals, delivery to
/// every device, exact resume, explicit resets, protocol violations and limits.
@Suite("Realtime gateway", .serialized)
struct RealtimeGatewayTests {
    @Test("a bad token is refused before the upgrade with the same 401 JSON error as every route")
    func refusedBeforeUpgrade() async throws {
        try await RealtimeHarness.run { harness in
            let forged = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1In0.c2lnbmF0dXJl"
            let viaRouter = try await harness.api.call(.GET, "/api/v1/me", token: forged)
            do {
                _ = try await harness.connect(forged)
                Issue.record("the upgrade was accepted with a forged token")
            } catch let refusal as TestWebSocket.Refusal {
                #expect(refusal.status == 401)
                #expect(UInt(refusal.status) == viaRouter.status)
                #expect(Self.code(refusal.body) == Self.code(viaRouter.body))
                #expect(refusal.head.lowercased().contains("x-request-id:"))
            }
            await #expect(throws: TestWebSocket.Refusal.self) {
                _ = try await TestWebSocket.connect(port: harness.port, path: "/api/v1/realtime?since=-1")
            }
        }
    }

    @Test("a direct message reaches every device of the recipient once, in order, and the sender's other devices")
    func deliveryToEveryDevice() async throws {
        try await RealtimeHarness.run { harness in
            let alice = try await harness.login("alice")
            let bob = try await harness.login("bob")
            let phone = try await harness.connect(bob.token, device: "phone")
            let tablet = try await harness.connect(bob.token, device: "tablet")
            let aliceOther = try await harness.connect(alice.token, device: "laptop")
            for socket in [phone, tablet, aliceOther] {
                _ = try await socket.welcome()
                #expect(await socket.nextJSON()?["type"] as? String == "caught_up")
            }
            let sender = try await harness.connect(alice.token, device: "phone")
            _ = try await sender.welcome()
            for index in 1...3 {
                let sent = try await sender.sendDirectMessage(to: bob.userID, text: "hello \(index)", id: "m\(index)")
                #expect(sent["type"] as? String == "sent", "\(sent)")
            }
            for device in [phone, tablet] {
                let received = await device.messages(3)
                #expect(received.seqs == [1, 2, 3])
                #expect(received.compactMap { ($0["payload"] as? [String: Any])?["text"] as? String } == ["hello 1", "hello 2", "hello 3"])
                #expect(received.allSatisfy { $0["kind"] as? String == "dm" })
                #expect(received.allSatisfy { ($0["payload"] as? [String: Any])?["from"] as? String == alice.userID })
            }
            let echoes = await aliceOther.messages(3)
            #expect(echoes.allSatisfy { $0["kind"] as? String == "dm.sent" } && echoes.count == 3)
            // A retried client message id is the same message: nothing new reaches Bob.
            let replay = try await sender.sendDirectMessage(to: bob.userID, text: "hello 1", id: "m1")
            #expect(replay["type"] as? String == "sent")
            #expect(await phone.messages(1, timeout: .milliseconds(500)).isEmpty)
        }
    }

    @Test("resume is exact under concurrent publishing: random disconnects, every device ends with 1…N", arguments: EngineKind.available)
    func exactResume(_ kind: EngineKind) async throws {
        let total = Int(ProcessInfo.processInfo.environment["SWIFTLET_TEST_RESUME_MESSAGES"] ?? "") ?? 10_000
        try await RealtimeHarness.run(kind) { harness in
            let alice = try await harness.login("producer")
            let bob = try await harness.login("consumer")
            let producer = Task {
                let senders = try await (0..<4).asyncMap { index in
                    let socket = try await harness.connect(alice.token, device: "p\(index)")
                    _ = try await socket.welcome()
                    return socket
                }
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for (index, socket) in senders.enumerated() {
                        group.addTask {
                            for number in stride(from: index, to: total, by: senders.count) {
                                let sent = try await socket.sendDirectMessage(to: bob.userID, text: "n\(number)", id: "c\(number)")
                                guard sent["type"] as? String == "sent" else { throw TestSetupError("send failed: \(sent)") }
                            }
                        }
                    }
                    try await group.waitForAll()
                }
            }
            var generator = SystemRandomNumberGenerator()
            for device in ["a", "b"] {
                var seen: [Int64] = []
                var last: Int64 = 0
                while last < Int64(total) {
                    let socket = try await harness.connect(bob.token, since: last, device: device)
                    _ = try await socket.welcome()
                    // Read a random number of frames, then drop the connection mid-stream.
                    let budget = Int.random(in: 1...max(2, total / 5), using: &generator)
                    var read = 0
                    while read < budget, let frame = await socket.nextJSON(timeout: .seconds(20)) {
                        guard frame["type"] as? String == "message", let seq = (frame["seq"] as? NSNumber)?.int64Value else { continue }
                        seen.append(seq)
                        last = seq
                        read += 1
                        if last == Int64(total) { break }
                    }
                    await socket.close()
                    if read == 0 { break }
                }
                #expect(seen == Array(1...Int64(total)), "device \(device) saw \(seen.count) messages, last \(seen.last ?? 0)")
            }
            try await producer.value
        }
    }

    @Test("a resume from before what retention kept gets an explicit reset, then the rest in order")
    func resetAfterRetention() async throws {
        try await RealtimeHarness.run(configure: { $0.realtime.inboxMaxMessages = 10 }) { harness in
            let alice = try await harness.login("alice")
            let bob = try await harness.login("bob")
            let sender = try await harness.connect(alice.token)
            _ = try await sender.welcome()
            for index in 1...25 {
                _ = try await sender.sendDirectMessage(to: bob.userID, text: "t\(index)", id: "r\(index)")
            }
            _ = try await harness.storage.inbox.prune(InboxRetention(maxAge: 86_400, maxCount: 10), now: Date())
            let socket = try await harness.connect(bob.token, since: 3)
            _ = try await socket.welcome()
            let reset = try #require(await socket.nextJSON())
            #expect(reset["type"] as? String == "reset")
            #expect((reset["oldest"] as? NSNumber)?.int64Value == 16)
            #expect((reset["requested"] as? NSNumber)?.int64Value == 3)
            #expect(await socket.messages(10).seqs == Array(16...25))
            #expect(await socket.nextJSON()?["type"] as? String == "caught_up")
            // A position the inbox never had is reset too, never silently accepted.
            let ahead = try await harness.connect(bob.token, since: 99, device: "d2")
            _ = try await ahead.welcome()
            #expect(await ahead.nextJSON()?["type"] as? String == "reset")
            #expect(await ahead.messages(10).seqs == Array(16...25), "after the reset, everything kept follows")
        }
    }

    @Test("the token expires mid-connection: token_expired, a fresh token in a frame keeps it, none closes with 4501")
    func tokenExpiry() async throws {
        let clock = MutableClock(Date())
        try await RealtimeHarness.run(clock: clock.clock, configure: {
            $0.auth.accessTokenLifetimeSeconds = 60
            $0.realtime.tokenGraceSeconds = 30
            $0.realtime.pingIntervalSeconds = 3_600  // the test client never answers pings
        }) { harness in
            let bob = try await harness.login("bob")
            let socket = try await harness.connect(bob.token)
            _ = try await socket.welcome()
            _ = await socket.nextJSON()  // caught_up
            clock.advance(61)
            let expired = try #require(await socket.nextJSON(timeout: .seconds(5)))
            #expect(expired["type"] as? String == "token_expired")
            #expect(expired["grace"] as? Int == 30)
            // Another user's token does not take over the socket.
            let refreshed = try await harness.api.json(
                .POST, "/api/v1/auth/refresh", json: #"{"refreshToken":"\#(bob.refreshToken)"}"#)
            let fresh = try #require(refreshed["accessToken"] as? String)
            try await socket.send(json: ["type": "auth", "token": fresh])
            let accepted = try #require(await socket.nextJSON())
            #expect(accepted["type"] as? String == "token_refreshed", "\(accepted)")
            clock.advance(45)
            #expect(await socket.next(timeout: .milliseconds(1_500)) != .close(code: 4501, reason: "token expired; refresh, then reconnect"))
            clock.advance(20)
            #expect(await socket.nextJSON(timeout: .seconds(5))?["type"] as? String == "token_expired")
            clock.advance(31)
            #expect(await socket.untilClose(timeout: .seconds(5)).close?.code == 4501)

            let bobAgain = try await harness.api.json(
                .POST, "/api/v1/auth/refresh", json: #"{"refreshToken":"\#(try #require(refreshed["refreshToken"] as? String))"}"#)
            let eve = try await harness.login("eve")
            let other = try await harness.connect(try #require(bobAgain["accessToken"] as? String), device: "d2")
            _ = try await other.welcome()
            try await other.send(json: ["type": "auth", "token": eve.token])
            #expect(await other.untilClose().close?.code == 4500, "a token of another user closes the socket")
        }
    }

    @Test("frames the protocol forbids close the socket with a clear code")
    func protocolViolations() async throws {
        try await RealtimeHarness.run(configure: { $0.realtime.maxFrameBytes = 2_048 }) { harness in
            let bob = try await harness.login("bob")
            let cases: [(String, (TestWebSocket) async throws -> Void, UInt16)] = [
                ("oversized", { try await $0.sendFrame(opcode: 0x1, payload: Array(repeating: 0x61, count: 4_096)) }, 1009),
                ("unmasked", { try await $0.sendFrame(opcode: 0x1, payload: Array(#"{"type":"ping"}"#.utf8), masked: false) }, 4502),
                ("not JSON", { try await $0.send("hello") }, 4502),
                ("binary", { try await $0.sendFrame(opcode: 0x2, payload: [1, 2, 3]) }, 4502),
            ]
            for (name, send, code) in cases {
                let socket = try await harness.connect(bob.token, device: "d-\(name.count)")
                _ = try await socket.welcome()
                try await send(socket)
                let closed = await socket.untilClose()
                #expect(closed.close?.code == code, "\(name): \(String(describing: closed.close))")
            }
            // Unknown types are answered, not fatal.
            let socket = try await harness.connect(bob.token)
            _ = try await socket.welcome()
            _ = await socket.nextJSON()
            try await socket.send(json: ["type": "subscribe"])
            #expect(await socket.nextJSON()?["code"] as? String == "realtime.unknown_frame")
            try await socket.send(json: ["type": "ping"])
            #expect(await socket.nextJSON()?["type"] as? String == "pong")
        }
    }

    @Test("without a token on the upgrade, the first frame authenticates; no frame in time closes with 4500")
    func firstFrameAuth() async throws {
        let clock = MutableClock(Date())
        try await RealtimeHarness.run(clock: clock.clock) { harness in
            let bob = try await harness.login("bob")
            let socket = try await harness.connect(nil)
            try await socket.send(json: ["type": "auth", "token": bob.token])
            let welcome = try await socket.welcome()
            #expect(welcome["userId"] as? String == bob.userID)

            let silent = try await harness.connect(nil, device: "d2")
            clock.advance(11)
            let closed = await silent.untilClose(timeout: .seconds(5))
            #expect(closed.close?.code == 4500, "\(closed)")

            let wrong = try await harness.connect(nil, device: "d3")
            try await wrong.send(json: ["type": "auth", "token": "not-a-token"])
            let refused = await wrong.untilClose()
            #expect(refused.close?.code == 4500)
            #expect(refused.frames.first?.contains("auth.token_invalid") == true, "\(refused.frames)")
        }
    }

    @Test("1,000 concurrent connections for one user: exactly the per-user limit get in, the rest get 429")
    func perUserLimit() async throws {
        try await RealtimeHarness.run(configure: { $0.realtime.maxConnectionsPerUser = 16 }) { harness in
            let bob = try await harness.login("bob")
            let results = await withTaskGroup(of: Result<TestWebSocket, any Error>.self) { group in
                for index in 0..<1_000 {
                    group.addTask {
                        do {
                            let socket = try await harness.connect(bob.token, device: "d\(index)")
                            _ = try await socket.welcome()
                            return .success(socket)
                        } catch {
                            return .failure(error)
                        }
                    }
                }
                var results: [Result<TestWebSocket, any Error>] = []
                for await result in group { results.append(result) }
                return results
            }
            let opened = results.compactMap { try? $0.get() }
            let refusals = results.compactMap { result -> TestWebSocket.Refusal? in
                if case .failure(let error) = result { return error as? TestWebSocket.Refusal }
                return nil
            }
            #expect(opened.count == 16)
            #expect(refusals.count == 1_000 - 16, "every other attempt is refused with an answer, not dropped")
            #expect(refusals.allSatisfy { $0.status == 429 && $0.body.contains("realtime.too_many_connections") })
            for socket in opened { await socket.close() }
        }
    }

    static func code(_ body: String) -> String? {
        let object = try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]
        return (object?["error"] as? [String: Any])?["code"] as? String
    }
}

extension Range where Bound == Int {
    func asyncMap<T>(_ transform: (Int) async throws -> T) async rethrows -> [T] {
        var result: [T] = []
        for index in self { result.append(try await transform(index)) }
        return result
    }
}
