import Foundation
import SwiftletCore
import Testing

/// Rooms over real sockets: join by policy or hook, fan-out to every follower, exact
/// resume by offset within an epoch, resets, bounded history and presence.
@Suite("Realtime rooms", .serialized)
struct RealtimeRoomTests {
    @Test("members following a room get its messages once, in offset order; a resume with offset and epoch fills the exact gap",
          arguments: EngineKind.available)
    func roomFanOutAndResume(_ kind: EngineKind) async throws {
        try await RealtimeHarness.run(kind) { harness in
            let alice = try await harness.login("alice")
            let bob = try await harness.login("bob")
            let room = try await harness.storage.rooms.create(Room(
                id: .generate(), name: "open", policy: .open, epoch: "e1", lastOffset: 0,
                createdBy: UserID(rawValue: alice.userID), createdAt: Date()))
            let sender = try await harness.connect(alice.token, device: "a")
            let phone = try await harness.connect(bob.token, device: "phone")
            let tablet = try await harness.connect(bob.token, device: "tablet")
            for socket in [sender, phone, tablet] {
                _ = try await socket.welcome()
                try await socket.send(json: ["type": "join", "room": room.id.rawValue])
                let joined = try #require(await socket.frame("joined"))
                #expect(joined["epoch"] as? String == "e1")
                #expect(await socket.frame("room_caught_up") != nil)
            }
            for index in 1...10 {
                try await sender.send(json: ["type": "room_send", "room": room.id.rawValue, "text": "r\(index)", "clientMsgId": "q\(index)"])
                let sent = try #require(await sender.frame("room_sent"))
                #expect(sent["offset"] as? Int == index)
            }
            for socket in [phone, tablet] {
                let messages = await socket.roomMessages(10)
                #expect(messages.map { $0["offset"] as? Int } == Array(1...10).map { $0 })
                #expect(messages.allSatisfy { $0["epoch"] as? String == "e1" && $0["room"] as? String == room.id.rawValue })
            }
            await tablet.close()
            for index in 11...15 {
                try await sender.send(json: ["type": "room_send", "room": room.id.rawValue, "text": "r\(index)", "clientMsgId": "q\(index)"])
                _ = try #require(await sender.frame("room_sent"))
            }
            let back = try await harness.connect(bob.token, device: "tablet")
            _ = try await back.welcome()
            try await back.send(json: ["type": "join", "room": room.id.rawValue, "offset": 10, "epoch": "e1"])
            #expect(await back.roomMessages(5).map { $0["offset"] as? Int } == [11, 12, 13, 14, 15])
            #expect(await back.frame("room_caught_up")?["offset"] as? Int == 15)

            // An offset from another epoch is not continued: reset, then everything kept.
            let stale = try await harness.connect(bob.token, device: "old")
            _ = try await stale.welcome()
            try await stale.send(json: ["type": "join", "room": room.id.rawValue, "offset": 12, "epoch": "other"])
            let reset = try #require(await stale.frame("room_reset"))
            #expect(reset["oldest"] as? Int == 1 && reset["epoch"] as? String == "e1")
            let everything = await stale.roomMessages(15)
            #expect(everything.map { $0["offset"] as? Int } == Array(1...15).map { $0 }, "\(everything)")
        }
    }

    @Test("an invite-only room refuses a join unless the embedder's hook allows it; non-members cannot post")
    func joinPolicyAndHook() async throws {
        let allowed = LockedUsers()
        try await RealtimeHarness.run(customize: { customization in
            customization.roomJoinDecider = { user, room in room.policy == .open || allowed.contains(user) }
        }) { harness in
            let owner = try await harness.login("owner")
            let guest = try await harness.login("guest")
            let vip = try await harness.login("vip")
            allowed.insert(UserID(rawValue: vip.userID))
            let room = try await harness.storage.rooms.create(Room(
                id: .generate(), name: "private", policy: .invite, epoch: "e", lastOffset: 0,
                createdBy: UserID(rawValue: owner.userID), createdAt: Date()))
            let socket = try await harness.connect(guest.token)
            _ = try await socket.welcome()
            try await socket.send(json: ["type": "join", "room": room.id.rawValue])
            let refused = try #require(await socket.frame("error"))
            #expect(refused["code"] as? String == "rooms.join_forbidden")
            try await socket.send(json: ["type": "room_send", "room": room.id.rawValue, "text": "hi", "clientMsgId": "x1"])
            #expect(await socket.frame("error")?["code"] as? String == "rooms.not_member")
            try await socket.send(json: ["type": "join", "room": "r_nosuchroom"])
            #expect(await socket.frame("error")?["code"] as? String == "rooms.not_found")

            let vipSocket = try await harness.connect(vip.token)
            _ = try await vipSocket.welcome()
            try await vipSocket.send(json: ["type": "join", "room": room.id.rawValue])
            #expect(await vipSocket.frame("joined") != nil, "the hook let this user in")
        }
    }

    @Test("a member who leaves over REST stops receiving on every socket at once")
    func leavingStopsEverySocket() async throws {
        try await RealtimeHarness.run { harness in
            let alice = try await harness.login("alice")
            let bob = try await harness.login("bob")
            let room = try await harness.storage.rooms.create(Room(
                id: .generate(), name: "club", policy: .open, epoch: "e", lastOffset: 0,
                createdBy: UserID(rawValue: alice.userID), createdAt: Date()))
            var sockets: [TestWebSocket] = []
            for (token, device) in [(alice.token, "a"), (bob.token, "b1"), (bob.token, "b2")] {
                let socket = try await harness.connect(token, device: device)
                _ = try await socket.welcome()
                try await socket.send(json: ["type": "join", "room": room.id.rawValue])
                _ = try #require(await socket.frame("joined"))
                sockets.append(socket)
            }
            let left = try await harness.api.call(.POST, "/api/v1/rooms/\(room.id.rawValue)/leave", token: bob.token)
            #expect(left.status == 204, "\(left.body)")
            for socket in sockets.dropFirst() {
                #expect(await socket.frame("left")?["room"] as? String == room.id.rawValue)
            }
            try await sockets[0].send(json: ["type": "room_send", "room": room.id.rawValue, "text": "after", "clientMsgId": "after"])
            _ = try #require(await sockets[0].frame("room_sent"))
            for socket in sockets.dropFirst() {
                #expect(await socket.roomMessages(1, timeout: .milliseconds(500)).isEmpty, "nothing after leaving")
            }
        }
    }

    @Test("presence counts a user once across devices; history is bounded and an older offset gets a reset")
    func presenceAndBoundedHistory() async throws {
        try await RealtimeHarness.run(configure: { $0.realtime.roomHistory = 10 }) { harness in
            let alice = try await harness.login("alice")
            let bob = try await harness.login("bob")
            let room = try await harness.storage.rooms.create(Room(
                id: .generate(), name: "live", policy: .open, epoch: "e", lastOffset: 0,
                createdBy: UserID(rawValue: alice.userID), createdAt: Date()))
            var sockets: [TestWebSocket] = []
            for (token, device) in [(alice.token, "a1"), (bob.token, "b1"), (bob.token, "b2")] {
                let socket = try await harness.connect(token, device: device)
                _ = try await socket.welcome()
                try await socket.send(json: ["type": "join", "room": room.id.rawValue])
                _ = try #require(await socket.frame("joined"))
                sockets.append(socket)
            }
            let last = try #require(sockets.last)
            await last.close()
            _ = sockets.removeLast()
            let bobAgain = try await harness.connect(bob.token, device: "b3")
            _ = try await bobAgain.welcome()
            try await bobAgain.send(json: ["type": "join", "room": room.id.rawValue])
            #expect(await bobAgain.frame("joined")?["online"] as? Int == 2, "alice and bob, bob once for two devices")

            for index in 1...25 {
                try await sockets[0].send(json: ["type": "room_send", "room": room.id.rawValue, "text": "h\(index)", "clientMsgId": "h\(index)"])
                _ = try #require(await sockets[0].frame("room_sent"))
            }
            let late = try await harness.connect(bob.token, device: "late")
            _ = try await late.welcome()
            try await late.send(json: ["type": "join", "room": room.id.rawValue, "offset": 3, "epoch": "e"])
            let reset = try #require(await late.frame("room_reset"))
            #expect(reset["oldest"] as? Int == 16)
            #expect(await late.roomMessages(10).map { $0["offset"] as? Int } == Array(16...25).map { $0 })
        }
    }
}

final class LockedUsers: @unchecked Sendable {
    private let lock = NSLock()
    private var users: Set<UserID> = []
    func insert(_ user: UserID) { lock.withLock { _ = users.insert(user) } }
    func contains(_ user: UserID) -> Bool { lock.withLock { users.contains(user) } }
}

extension TestWebSocket {
    /// The next frame of `type`, skipping others (nil if none within `timeout`).
    func frame(_ type: String, timeout: Duration = .seconds(10)) async -> [String: Any]? {
        while let frame = await nextJSON(timeout: timeout) {
            if frame["type"] as? String == type { return frame }
        }
        return nil
    }

    /// `room_message` frames until `count` arrived or nothing comes for `timeout`.
    func roomMessages(_ count: Int, timeout: Duration = .seconds(10)) async -> [[String: Any]] {
        var messages: [[String: Any]] = []
        while messages.count < count, let frame = await nextJSON(timeout: timeout) {
            if frame["type"] as? String == "room_message" { messages.append(frame) }
        }
        return messages
    }
}
