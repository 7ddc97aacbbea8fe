import Foundation
import SwiftletCore
import SwiftletSQLStorage
import Testing

/// Rooms on every engine: membership, gapless offsets under concurrent posters, paging and
/// resets once the history bound trims, member-only posts, and posts stored once per
/// sender's client message id.
@Suite("Room storage")
struct RoomRepositoryTests {
    static let t0 = Date(timeIntervalSince1970: 1_800_000_000)
    static let alice = UserID(rawValue: "u_alice")
    static let bob = UserID(rawValue: "u_bob")
    static let carol = UserID(rawValue: "u_carol")
    static let epoch = "E1"

    /// A new open room owned by Alice, created at `at`.
    static func room(_ storage: any StorageEngine, name: String = "Tea", at: Date = t0) async throws -> Room {
        let room = try await storage.rooms.create(Room(
            id: .generate(), name: name, policy: .open, epoch: epoch, lastOffset: 0, createdBy: alice, createdAt: at))
        #expect(try await storage.rooms.addMember(alice, to: room.id, role: .owner, now: at))
        return room
    }

    static func post(_ roomID: RoomID, from sender: UserID = alice, client: String = "c-1", text: String = "hello") -> RoomPost {
        var payload = JSONObjectWriter()
        payload.field("room", roomID.rawValue)
        payload.field("from", sender.rawValue)
        payload.field("clientMsgId", client)
        payload.field("text", text)
        return RoomPost(roomID: roomID, senderID: sender, clientMessageID: client, requestHash: SecretToken.hash(text),
                        payload: payload.finish())
    }

    /// Posts `count` messages from Alice with client ids `p-<n>`.
    static func fill(_ storage: any StorageEngine, _ roomID: RoomID, count: Int, historyLimit: Int = 500) async throws {
        for index in 0..<count {
            _ = try await storage.rooms.post(Self.post(roomID, client: "p-\(index)"), now: t0, historyLimit: historyLimit)
        }
    }

    // MARK: Rooms and members

    @Test("a room is found as created; adding and removing members is idempotent; members come in join order", arguments: EngineKind.available)
    func membership(kind: EngineKind) async throws {
        try await TestStorage.withStorage(kind) { storage in
            let rooms = storage.rooms
            let room = try await Self.room(storage, at: Self.t0.addingTimeInterval(0.000_4))
            #expect(room.createdAt == Self.t0, "returned in whole milliseconds, as stored")
            #expect(try await rooms.find(room.id) == room)
            #expect(try await rooms.find(RoomID(rawValue: "r_nowhere")) == nil)

            let t1 = Self.t0.addingTimeInterval(1)
            #expect(try await rooms.addMember(Self.carol, to: room.id, role: .member, now: t1))
            #expect(try await rooms.addMember(Self.bob, to: room.id, role: .member, now: t1))
            #expect(try await !rooms.addMember(Self.bob, to: room.id, role: .owner, now: Self.t0.addingTimeInterval(9)))
            #expect(try await rooms.member(Self.bob, of: room.id) == RoomMember(userID: Self.bob, role: .member, joinedAt: t1),
                    "adding again changes nothing, the role included")
            #expect(try await rooms.member(Self.alice, of: room.id)?.role == .owner)
            #expect(try await rooms.members(of: room.id, limit: 10).map(\.userID) == [Self.alice, Self.bob, Self.carol],
                    "join order, then user id")
            #expect(try await rooms.members(of: room.id, limit: 2).map(\.userID) == [Self.alice, Self.bob])

            #expect(try await rooms.removeMember(Self.bob, from: room.id))
            #expect(try await !rooms.removeMember(Self.bob, from: room.id))
            #expect(try await rooms.member(Self.bob, of: room.id) == nil)
            #expect(try await rooms.members(of: room.id, limit: 10).map(\.userID) == [Self.alice, Self.carol])
            #expect(try await rooms.members(of: RoomID(rawValue: "r_nowhere"), limit: 10).isEmpty)
        }
    }

    @Test("a user's rooms are listed newest membership first", arguments: EngineKind.available)
    func roomsOfUser(kind: EngineKind) async throws {
        try await TestStorage.withStorage(kind) { storage in
            let rooms = storage.rooms
            let first = try await Self.room(storage, name: "First")
            let second = try await Self.room(storage, name: "Second")
            let third = try await Self.room(storage, name: "Third")
            _ = try await rooms.addMember(Self.bob, to: second.id, role: .member, now: Self.t0.addingTimeInterval(1))
            _ = try await rooms.addMember(Self.bob, to: first.id, role: .member, now: Self.t0.addingTimeInterval(2))
            _ = try await rooms.addMember(Self.bob, to: third.id, role: .member, now: Self.t0.addingTimeInterval(3))
            _ = try await rooms.removeMember(Self.bob, from: third.id)
            #expect(try await rooms.rooms(of: Self.bob, limit: 10) == [first, second])
            #expect(try await rooms.rooms(of: Self.bob, limit: 1) == [first])
            #expect(Set(try await rooms.rooms(of: Self.alice, limit: 10).map(\.id)) == [first.id, second.id, third.id])
            #expect(try await rooms.rooms(of: Self.carol, limit: 10).isEmpty)
        }
    }

    // MARK: Offsets and history

    @Test("20 concurrent posts by different members get exactly offsets 1…20", arguments: EngineKind.available)
    func concurrentPosts(kind: EngineKind) async throws {
        try await TestStorage.withStorage(kind) { storage in
            let rooms = storage.rooms
            let room = try await Self.room(storage)
            let members = (0..<20).map { UserID(rawValue: "u_\($0)") }
            for member in members {
                _ = try await rooms.addMember(member, to: room.id, role: .member, now: Self.t0)
            }
            let receipts = try await withThrowingTaskGroup(of: RoomPostReceipt.self) { group in
                for member in members {
                    group.addTask { try await rooms.post(Self.post(room.id, from: member), now: Self.t0, historyLimit: 500) }
                }
                return try await group.reduce(into: [RoomPostReceipt]()) { $0.append($1) }
            }
            #expect(receipts.map(\.message.offset).sorted() == Array(1...20))
            #expect(receipts.allSatisfy { !$0.replayed })
            let page = try await rooms.history(of: room.id, after: 0, limit: 100)
            #expect(page.messages.map(\.offset) == Array(1...20))
            #expect(Set(page.messages.map(\.senderID)) == Set(members))
            #expect(page.head == 20 && page.oldest == 1)
            #expect(try await rooms.find(room.id)?.lastOffset == 20)
        }
    }

    @Test("history pages follow the requested offset and the limit", arguments: EngineKind.available)
    func paging(kind: EngineKind) async throws {
        try await TestStorage.withStorage(kind) { storage in
            let rooms = storage.rooms
            let room = try await Self.room(storage)
            let empty = try await rooms.history(of: room.id, after: 0, limit: 10)
            #expect(empty == RoomHistoryPage(messages: [], epoch: Self.epoch, head: 0, oldest: 1))
            #expect(!empty.isReset(offset: 0, epoch: Self.epoch) && !empty.isReset(offset: 0, epoch: nil))

            try await Self.fill(storage, room.id, count: 7)
            var offset: Int64 = 0
            var pages: [[Int64]] = []
            while true {
                let page = try await rooms.history(of: room.id, after: offset, limit: 3)
                #expect(page.epoch == Self.epoch && page.head == 7 && page.oldest == 1)
                #expect(!page.isReset(offset: offset, epoch: Self.epoch))
                guard let last = page.messages.last else { break }
                pages.append(page.messages.map(\.offset))
                offset = last.offset
            }
            #expect(pages == [[1, 2, 3], [4, 5, 6], [7]])
            let stored = try await rooms.history(of: room.id, after: 3, limit: 1).messages
            #expect(stored == [RoomMessage(roomID: room.id, offset: 4, senderID: Self.alice,
                                           payload: Self.post(room.id, client: "p-3").payload, createdAt: Self.t0)])
            #expect(try await rooms.history(of: room.id, after: 2, limit: 0).messages.isEmpty)

            let ahead = try await rooms.history(of: room.id, after: 99, limit: 10)
            #expect(ahead.messages.isEmpty && ahead.isReset(offset: 99, epoch: Self.epoch), "an offset the room never had")
            let elsewhere = try await rooms.history(of: room.id, after: 3, limit: 10)
            #expect(elsewhere.isReset(offset: 3, epoch: "E0"), "an offset of another epoch")

            let unknown = await #expect(throws: SwiftletError.self) {
                try await rooms.history(of: RoomID(rawValue: "r_nowhere"), after: 0, limit: 10)
            }
            #expect(unknown?.code == "rooms.not_found")
        }
    }

    @Test("the history bound keeps the newest; an older offset gets a reset page from the oldest kept", arguments: EngineKind.available)
    func historyLimit(kind: EngineKind) async throws {
        try await TestStorage.withStorage(kind) { storage in
            let rooms = storage.rooms
            let room = try await Self.room(storage)
            try await Self.fill(storage, room.id, count: 10, historyLimit: 4)
            let reset = try await rooms.history(of: room.id, after: 2, limit: 10)
            #expect(reset.messages.map(\.offset) == [7, 8, 9, 10])
            #expect(reset.oldest == 7 && reset.head == 10)
            #expect(reset.isReset(offset: 2, epoch: Self.epoch))
            let caughtUp = try await rooms.history(of: room.id, after: 6, limit: 10)
            #expect(caughtUp.messages.map(\.offset) == [7, 8, 9, 10] && !caughtUp.isReset(offset: 6, epoch: Self.epoch))
            #expect(!caughtUp.isReset(offset: 10, epoch: Self.epoch), "at the head")

            let next = try await rooms.post(Self.post(room.id, client: "p-next"), now: Self.t0, historyLimit: 4)
            #expect(next.message.offset == 11, "numbering continues after trimming")
            #expect(try await rooms.history(of: room.id, after: 0, limit: 10).messages.map(\.offset) == [8, 9, 10, 11])
            // The record of a trimmed message goes with it: a retry that late is a new message.
            let late = try await rooms.post(Self.post(room.id, client: "p-0"), now: Self.t0, historyLimit: 4)
            #expect(!late.replayed && late.message.offset == 12)

            let tight = try await rooms.post(Self.post(room.id, client: "p-tight"), now: Self.t0, historyLimit: 0)
            #expect(try await rooms.history(of: room.id, after: 0, limit: 10).messages == [tight.message],
                    "a bound below one keeps the message just stored")
        }
    }

    // MARK: Posting

    @Test("only members post to rooms that exist, and a refused post writes nothing", arguments: EngineKind.available)
    func refusals(kind: EngineKind) async throws {
        try await TestStorage.withStorage(kind) { storage in
            let rooms = storage.rooms
            let room = try await Self.room(storage)
            let stranger = await #expect(throws: SwiftletError.self) {
                try await rooms.post(Self.post(room.id, from: Self.bob), now: Self.t0, historyLimit: 500)
            }
            #expect(stranger?.kind == .forbidden && stranger?.code == "rooms.not_member")
            let unknown = await #expect(throws: SwiftletError.self) {
                try await rooms.post(Self.post(RoomID(rawValue: "r_nowhere")), now: Self.t0, historyLimit: 500)
            }
            #expect(unknown?.kind == .notFound && unknown?.code == "rooms.not_found")
            #expect(try await rooms.find(room.id)?.lastOffset == 0)

            _ = try await rooms.addMember(Self.bob, to: room.id, role: .member, now: Self.t0)
            _ = try await rooms.post(Self.post(room.id, from: Self.bob), now: Self.t0, historyLimit: 500)
            _ = try await rooms.removeMember(Self.bob, from: room.id)
            let former = await #expect(throws: SwiftletError.self) {
                try await rooms.post(Self.post(room.id, from: Self.bob, client: "c-2"), now: Self.t0, historyLimit: 500)
            }
            #expect(former?.code == "rooms.not_member")
            #expect(try await rooms.history(of: room.id, after: 0, limit: 10).messages.map(\.offset) == [1])
        }
    }

    @Test("a retry replays the stored message and writes nothing; other content is a conflict", arguments: EngineKind.available)
    func replay(kind: EngineKind) async throws {
        try await TestStorage.withStorage(kind) { storage in
            let rooms = storage.rooms
            let room = try await Self.room(storage)
            _ = try await rooms.addMember(Self.bob, to: room.id, role: .member, now: Self.t0)
            let first = try await rooms.post(Self.post(room.id), now: Self.t0, historyLimit: 500)
            #expect(!first.replayed)
            #expect(first.message == RoomMessage(roomID: room.id, offset: 1, senderID: Self.alice,
                                                 payload: Self.post(room.id).payload, createdAt: Self.t0))

            let retry = try await rooms.post(Self.post(room.id), now: Self.t0.addingTimeInterval(5), historyLimit: 500)
            #expect(retry == RoomPostReceipt(message: first.message, replayed: true))
            #expect(try await rooms.find(room.id)?.lastOffset == 1)
            #expect(try await rooms.history(of: room.id, after: 0, limit: 10).messages == [first.message])

            let conflict = await #expect(throws: SwiftletError.self) {
                try await rooms.post(Self.post(room.id, text: "other"), now: Self.t0, historyLimit: 500)
            }
            #expect(conflict?.kind == .conflict && conflict?.code == "rooms.client_msg_id_conflict")

            let other = try await rooms.post(Self.post(room.id, from: Self.bob), now: Self.t0, historyLimit: 500)
            #expect(!other.replayed && other.message.offset == 2, "client ids are per sender")
            let elsewhere = try await Self.room(storage, name: "Elsewhere")
            let there = try await rooms.post(Self.post(elsewhere.id), now: Self.t0, historyLimit: 500)
            #expect(!there.replayed && there.message.offset == 1, "and per room")
        }
    }

    @Test("identical posts sent at once are stored once and all answered with it", arguments: EngineKind.available)
    func concurrentDuplicates(kind: EngineKind) async throws {
        try await TestStorage.withStorage(kind) { storage in
            let rooms = storage.rooms
            let room = try await Self.room(storage)
            let receipts = try await withThrowingTaskGroup(of: RoomPostReceipt.self) { group in
                for _ in 0..<10 {
                    group.addTask { try await rooms.post(Self.post(room.id), now: Self.t0, historyLimit: 500) }
                }
                return try await group.reduce(into: [RoomPostReceipt]()) { $0.append($1) }
            }
            #expect(receipts.filter { !$0.replayed }.count == 1)
            #expect(Set(receipts.map(\.message.offset)) == [1])
            #expect(try await rooms.find(room.id)?.lastOffset == 1, "the losers' offsets were rolled back")
            #expect(try await rooms.history(of: room.id, after: 0, limit: 10).messages.count == 1)
        }
    }

    @Test("a retry whose record outlived its message is told it expired", arguments: EngineKind.available)
    func expiredReplay(kind: EngineKind) async throws {
        try await TestStorage.withStorage(kind) { storage in
            let room = try await Self.room(storage)
            _ = try await storage.rooms.post(Self.post(room.id), now: Self.t0, historyLimit: 500)
            // What a trim committed between the replay's two reads leaves behind.
            let executor = try #require(storage as? any SQLExecutor)
            try await executor.transaction { db in
                try await db.raw("DELETE FROM room_messages WHERE room_id = \(bind: room.id.rawValue)").run()
            }
            let expired = await #expect(throws: SwiftletError.self) {
                try await storage.rooms.post(Self.post(room.id), now: Self.t0, historyLimit: 500)
            }
            #expect(expired?.kind == .conflict && expired?.code == "rooms.client_msg_id_expired")
        }
    }
}
