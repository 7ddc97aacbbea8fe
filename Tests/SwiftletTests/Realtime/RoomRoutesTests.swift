import Foundation
import HTTPTypes
import SwiftletConfig
import SwiftletCore
import Testing

/// Rooms over REST, through the whole application (bearer auth, error mapping) on a live
/// server: membership by policy and by the owner, messages numbered 1…N within an epoch,
/// replays, resets, and refusals.
@Suite("Room REST routes")
struct RoomRoutesTests {
    @Test("an open room is joined, an invite-only room is refused; the owner adds, others may not; leaving",
          arguments: EngineKind.available)
    func membership(_ kind: EngineKind) async throws {
        try await RealtimeAPI.run(kind) { api in
            let alice = try await api.login("alice")
            let bob = try await api.login("bob")
            let carol = try await api.login("carol")

            let created = try await api.createRoom(" Lobby ", policy: "open", as: alice)
            #expect(created.status == .created, "\(created.body)")
            let room = created.json
            let id = try #require(room["id"] as? String)
            #expect(id.hasPrefix("r_") && id.count == 28)
            #expect(created.headers[.location] == "/api/v1/rooms/\(id)")
            #expect(room["name"] as? String == "Lobby", "the name is trimmed")
            #expect(room["policy"] as? String == "open" && room["lastOffset"] as? Int == 0)
            #expect(room["createdBy"] as? String == alice.userID && (room["epoch"] as? String)?.isEmpty == false)
            #expect((room["createdAt"] as? String)?.hasSuffix("Z") == true)
            #expect(room.keys.sorted() == ["createdAt", "createdBy", "epoch", "id", "lastOffset", "name", "policy"])

            #expect(try await api.roomIDs(as: alice) == [id])
            #expect(try await api.roomIDs(as: bob) == [])
            let outsider = try await api.call(.get, "/api/v1/rooms/\(id)", as: bob)
            #expect(outsider.status == .forbidden && outsider.errorCode == "rooms.not_member")

            let joined = try await api.call(.post, "/api/v1/rooms/\(id)/join", as: bob)
            #expect(joined.status == .ok && joined.json["id"] as? String == id)
            #expect(try await api.call(.post, "/api/v1/rooms/\(id)/join", as: bob).status == .ok, "joining again is fine")
            let seen = try await api.call(.get, "/api/v1/rooms/\(id)", as: bob)
            #expect(seen.status == .ok && seen.json["name"] as? String == "Lobby")
            #expect(try await api.roomIDs(as: bob) == [id])
            let members = try #require(try await api.call(.get, "/api/v1/rooms/\(id)/members", as: bob).json["members"] as? [[String: Any]])
            #expect(members.compactMap { $0["userId"] as? String } == [alice.userID, bob.userID], "in join order")
            #expect(members.compactMap { $0["role"] as? String } == ["owner", "member"])
            #expect(members.allSatisfy { ($0["joinedAt"] as? String)?.hasSuffix("Z") == true })

            let invited = try await api.createRoom("Team", policy: nil, as: alice)
            #expect(invited.status == .created && invited.json["policy"] as? String == "invite", "invite is the default")
            let team = try #require(invited.json["id"] as? String)
            let refused = try await api.call(.post, "/api/v1/rooms/\(team)/join", as: bob)
            #expect(refused.status == .forbidden && refused.errorCode == "rooms.join_forbidden")
            #expect(try await api.addMember(bob.userID, to: team, as: alice).status == .noContent)
            #expect(try await api.addMember(bob.userID, to: team, as: alice).status == .noContent, "adding again is fine")
            let notOwner = try await api.addMember(carol.userID, to: team, as: bob)
            #expect(notOwner.status == .forbidden && notOwner.errorCode == "rooms.not_owner")
            let stranger = try await api.addMember(carol.userID, to: team, as: carol)
            #expect(stranger.status == .forbidden && stranger.errorCode == "rooms.not_owner")
            #expect(try await api.call(.post, "/api/v1/rooms/\(team)/join", as: carol).errorCode == "rooms.join_forbidden")
            #expect(try await api.addMember(carol.userID, to: team, as: alice).status == .noContent)
            #expect(try await api.call(.get, "/api/v1/rooms/\(team)", as: carol).status == .ok)
            let invalidUser = try await api.call(.post, "/api/v1/rooms/\(team)/members", json: #"{"userId":"not a user"}"#, as: alice)
            #expect(invalidUser.status == .badRequest && invalidUser.errorCode == "rooms.invalid_user")
            let teamMembers = try await api.call(.get, "/api/v1/rooms/\(team)/members", as: carol).json["members"] as? [[String: Any]]
            #expect(teamMembers?.compactMap { $0["userId"] as? String } == [alice.userID, bob.userID, carol.userID])

            #expect(try await api.call(.post, "/api/v1/rooms/\(team)/leave", as: carol).status == .noContent)
            #expect(try await api.call(.post, "/api/v1/rooms/\(team)/leave", as: carol).status == .noContent, "leaving again is fine")
            #expect(try await api.call(.get, "/api/v1/rooms/\(team)", as: carol).errorCode == "rooms.not_member")
            #expect(try await api.roomIDs(as: carol) == [])
            #expect(Set(try await api.roomIDs(as: alice)) == [id, team])

            let invalid: [(String, String)] = [
                (#"{"name":"   "}"#, "rooms.invalid_name"),
                (#"{"name":""}"#, "rooms.invalid_name"),
                (#"{"name":"\#(String(repeating: "n", count: 65))"}"#, "rooms.invalid_name"),
                (#"{"name":"ring\u0007"}"#, "rooms.invalid_name"),
                (#"{"name":"Room","policy":"public"}"#, "rooms.invalid_policy"),
                (#"{"policy":"open"}"#, "request.missing_field"),
                (#"{"name":"Room","policy":1}"#, "request.invalid_type"),
            ]
            for (body, code) in invalid {
                let reply = try await api.call(.post, "/api/v1/rooms", json: body, as: alice)
                #expect(reply.status == .badRequest && reply.errorCode == code, "\(body): \(reply.body)")
            }
            #expect(Set(try await api.roomIDs(as: alice)) == [id, team], "nothing was created")
            #expect(try await api.exchange(.get, "/api/v1/rooms").status == .unauthorized)
            #expect(try await api.exchange(.post, "/api/v1/rooms/\(id)/join").status == .unauthorized)
        }
    }

    @Test("messages get offsets 1…N and read back in order; a replay stores nothing; another epoch is a reset",
          arguments: EngineKind.available)
    func messages(_ kind: EngineKind) async throws {
        try await RealtimeAPI.run(kind) { api in
            let alice = try await api.login("alice")
            let bob = try await api.login("bob")
            let room = try await api.createRoom("Chat", policy: "open", as: alice).json
            let id = try #require(room["id"] as? String)
            let epoch = try #require(room["epoch"] as? String)
            #expect(try await api.call(.post, "/api/v1/rooms/\(id)/join", as: bob).status == .ok)

            var receipts: [[String: Any]] = []
            for index in 1...5 {
                let sender = index.isMultiple(of: 2) ? bob : alice
                let sent = try await api.post("m\(index)\n👋", to: id, clientID: "c-\(index)", as: sender)
                #expect(sent.status == .created, "\(sent.body)")
                #expect(sent.headers[.idempotentReplayed] == nil)
                #expect(sent.json["offset"] as? Int == index && sent.json["epoch"] as? String == epoch)
                #expect((sent.json["id"] as? String)?.hasPrefix("rm_") == true && (sent.json["createdAt"] as? String)?.hasSuffix("Z") == true)
                receipts.append(sent.json)
            }

            let all = try await api.call(.get, "/api/v1/rooms/\(id)/messages", as: bob)
            #expect(all.status == .ok)
            #expect(all.body.contains(#""payload":{"#), "the payload is embedded as an object, not a string")
            let messages = try #require(all.json["messages"] as? [[String: Any]])
            #expect(messages.compactMap { $0["offset"] as? Int } == [1, 2, 3, 4, 5])
            #expect(messages.compactMap { $0["from"] as? String } == [alice, bob, alice, bob, alice].map(\.userID))
            let payloads = messages.compactMap { $0["payload"] as? [String: Any] }
            #expect(payloads.compactMap { $0["text"] as? String } == (1...5).map { "m\($0)\n👋" })
            #expect(payloads.compactMap { $0["id"] as? String } == receipts.compactMap { $0["id"] as? String })
            #expect(payloads.allSatisfy { $0["room"] as? String == id })
            #expect(payloads.compactMap { $0["clientMsgId"] as? String } == (1...5).map { "c-\($0)" })
            #expect(all.json["epoch"] as? String == epoch && all.json["head"] as? Int == 5 && all.json["oldest"] as? Int == 1)
            #expect(all.json["reset"] as? Bool == false)
            #expect(try await api.call(.get, "/api/v1/rooms/\(id)", as: alice).json["lastOffset"] as? Int == 5)

            let page = try await api.call(.get, "/api/v1/rooms/\(id)/messages?offset=2&epoch=\(epoch)&limit=2", as: alice).json
            #expect((page["messages"] as? [[String: Any]])?.compactMap { $0["offset"] as? Int } == [3, 4])
            #expect(page["head"] as? Int == 5 && page["reset"] as? Bool == false)
            let caughtUp = try await api.call(.get, "/api/v1/rooms/\(id)/messages?offset=5&epoch=\(epoch)", as: alice).json
            #expect((caughtUp["messages"] as? [Any])?.isEmpty == true && caughtUp["reset"] as? Bool == false)

            let replay = try await api.post("m1\n👋", to: id, clientID: "c-1", as: alice)
            #expect(replay.status == .ok && replay.headers[.idempotentReplayed] == "true")
            #expect(replay.json["offset"] as? Int == 1 && replay.json["id"] as? String == receipts[0]["id"] as? String)
            #expect(replay.json["createdAt"] as? String == receipts[0]["createdAt"] as? String)
            let conflict = try await api.post("something else", to: id, clientID: "c-1", as: alice)
            #expect(conflict.status == .conflict && conflict.errorCode == "rooms.client_msg_id_conflict")
            let otherSender = try await api.post("m1\n👋", to: id, clientID: "c-1", as: bob)
            #expect(otherSender.status == .created && otherSender.json["offset"] as? Int == 6, "client ids are per sender")

            let object = #"{"payload":{"sticker":"cat","size":3,"meta":{"ok":true,"url":"https://x/y"}},"clientMsgId":"p:1"}"#
            let sticker = try await api.call(.post, "/api/v1/rooms/\(id)/messages", json: object, as: alice)
            #expect(sticker.status == .created && sticker.json["offset"] as? Int == 7)
            let reordered = #"{"clientMsgId":"p:1","payload":{"meta":{"url":"https://x/y","ok":true},"size":3,"sticker":"cat"}}"#
            let stickerAgain = try await api.call(.post, "/api/v1/rooms/\(id)/messages", json: reordered, as: alice)
            #expect(stickerAgain.status == .ok && stickerAgain.json["id"] as? String == sticker.json["id"] as? String,
                    "the same object with its keys in another order is the same message")
            let last = try await api.call(.get, "/api/v1/rooms/\(id)/messages?offset=6", as: bob).json
            let stored = try #require(((last["messages"] as? [[String: Any]])?.first?["payload"] as? [String: Any])?["payload"] as? [String: Any])
            #expect(stored["sticker"] as? String == "cat" && stored["size"] as? Int == 3)
            #expect(last["head"] as? Int == 7, "replays stored nothing")

            let otherEpoch = try await api.call(.get, "/api/v1/rooms/\(id)/messages?offset=3&epoch=x\(epoch)", as: alice).json
            #expect(otherEpoch["reset"] as? Bool == true && otherEpoch["epoch"] as? String == epoch)
            #expect((otherEpoch["messages"] as? [[String: Any]])?.compactMap { $0["offset"] as? Int } == Array(1...7),
                    "a position in another epoch means nothing: the page starts over from the oldest")
            let pastHead = try await api.call(.get, "/api/v1/rooms/\(id)/messages?offset=99&epoch=\(epoch)&limit=2", as: alice)
            #expect(pastHead.status == .ok && pastHead.json["reset"] as? Bool == true)
            #expect((pastHead.json["messages"] as? [[String: Any]])?.compactMap { $0["offset"] as? Int } == [1, 2])
            let far = try await api.call(.get, "/api/v1/rooms/\(id)/messages?offset=\(Int64.max)", as: alice)
            #expect(far.status == .ok && far.json["reset"] as? Bool == true && far.json["head"] as? Int == 7)

            for (query, code) in [("offset=-1", "rooms.invalid_offset"), ("offset=x", "rooms.invalid_offset"),
                                  ("offset=\(Int64.max)0", "rooms.invalid_offset"),
                                  ("limit=0", "request.invalid_limit"), ("limit=501", "request.invalid_limit")] {
                let reply = try await api.call(.get, "/api/v1/rooms/\(id)/messages?\(query)", as: alice)
                #expect(reply.status == .badRequest && reply.errorCode == code, "\(query): \(reply.body)")
            }
        }
    }

    @Test("a full room takes no one more; history past realtime.roomHistory is gone and a resume from before it is a reset",
          arguments: EngineKind.available)
    func limits(_ kind: EngineKind) async throws {
        try await RealtimeAPI.run(kind, { $0.realtime.roomMaxMembers = 2; $0.realtime.roomHistory = 10 }) { api in
            let alice = try await api.login("alice")
            let bob = try await api.login("bob")
            let carol = try await api.login("carol")
            let id = try #require(try await api.createRoom("Pair", policy: "open", as: alice).json["id"] as? String)
            #expect(try await api.call(.post, "/api/v1/rooms/\(id)/join", as: bob).status == .ok)
            let joinFull = try await api.call(.post, "/api/v1/rooms/\(id)/join", as: carol)
            #expect(joinFull.status == .conflict && joinFull.errorCode == "rooms.full")
            let addFull = try await api.addMember(carol.userID, to: id, as: alice)
            #expect(addFull.status == .conflict && addFull.errorCode == "rooms.full")
            #expect(try await api.call(.post, "/api/v1/rooms/\(id)/join", as: bob).status == .ok, "a member joining again is fine")

            for index in 1...12 {
                #expect(try await api.post("h\(index)", to: id, clientID: "h-\(index)", as: alice).status == .created)
            }
            let resumed = try await api.call(.get, "/api/v1/rooms/\(id)/messages?offset=1", as: bob).json
            #expect(resumed["reset"] as? Bool == true && resumed["head"] as? Int == 12 && resumed["oldest"] as? Int == 3)
            #expect((resumed["messages"] as? [[String: Any]])?.compactMap { $0["offset"] as? Int } == Array(3...12))
            let kept = try await api.call(.get, "/api/v1/rooms/\(id)/messages?offset=2", as: bob).json
            #expect(kept["reset"] as? Bool == false, "offset 2 continues exactly at the oldest kept")
            let retry = try await api.post("h1", to: id, clientID: "h-1", as: alice)
            #expect(retry.status == .created && retry.json["offset"] as? Int == 13, "a retry after its message is gone is a new message")
        }
    }

    @Test("non-members may not post or read; bad messages are refused and store nothing", arguments: EngineKind.available)
    func refusals(_ kind: EngineKind) async throws {
        try await RealtimeAPI.run(kind) { api in
            let alice = try await api.login("alice")
            let carol = try await api.login("carol")
            let id = try #require(try await api.createRoom("Closed", policy: "invite", as: alice).json["id"] as? String)

            let outsider = try await api.post("hi", to: id, clientID: "o-1", as: carol)
            #expect(outsider.status == .forbidden && outsider.errorCode == "rooms.not_member")
            for path in ["/messages", "/members", "/presence", ""] {
                let reply = try await api.call(.get, "/api/v1/rooms/\(id)\(path)", as: carol)
                #expect(reply.status == .forbidden && reply.errorCode == "rooms.not_member", "\(path)")
            }

            let cases: [(String, HTTPResponse.Status, String)] = [
                (#"{"text":"ring\u0007","clientMsgId":"r1"}"#, .badRequest, "messages.invalid_text"),
                (#"{"text":"","clientMsgId":"r2"}"#, .badRequest, "messages.invalid_text"),
                (#"{"text":"hi","payload":{},"clientMsgId":"r3"}"#, .badRequest, "messages.invalid_content"),
                (#"{"payload":[1],"clientMsgId":"r4"}"#, .badRequest, "messages.invalid_content"),
                (#"{"clientMsgId":"r5"}"#, .badRequest, "messages.invalid_content"),
                (#"{"text":"hi","clientMsgId":"no spaces"}"#, .badRequest, "messages.invalid_client_msg_id"),
                (#"{"text":"hi"}"#, .badRequest, "request.missing_field"),
            ]
            for (body, status, code) in cases {
                let reply = try await api.call(.post, "/api/v1/rooms/\(id)/messages", json: body, as: alice)
                #expect(reply.status == status && reply.errorCode == code, "\(body): \(reply.body)")
            }
            let history = try await api.call(.get, "/api/v1/rooms/\(id)/messages", as: alice).json
            #expect(history["head"] as? Int == 0 && (history["messages"] as? [Any])?.isEmpty == true, "nothing was stored")
            #expect(history["oldest"] as? Int == 1 && history["reset"] as? Bool == false)
            #expect(try await api.exchange(.post, "/api/v1/rooms/\(id)/messages", json: #"{"text":"hi","clientMsgId":"a"}"#).status
                == .unauthorized)
            // Last: every 413 closes the connection (`SwiftletResponder`), and this client does not reconnect.
            let large = #"{"payload":{"blob":"\#(String(repeating: "x", count: 5_000))"},"clientMsgId":"r6"}"#
            let tooLarge = try await api.call(.post, "/api/v1/rooms/\(id)/messages", json: large, as: alice)
            #expect(tooLarge.status == .contentTooLarge && tooLarge.errorCode == "messages.payload_too_large")
        }
    }

    @Test("an unknown room and a path that cannot be a room id are both 404 rooms.not_found", arguments: EngineKind.available)
    func unknownRooms(_ kind: EngineKind) async throws {
        try await RealtimeAPI.run(kind) { api in
            let alice = try await api.login("alice")
            let real = try #require(try await api.createRoom("Real", policy: "open", as: alice).json["id"] as? String)
            let unknown = RoomID.generate().rawValue
            let shapes = [
                unknown, "nope", "r_", "r_abc", real.uppercased(), "R" + real.dropFirst(), real + "a", String(real.dropLast()),
                "r_" + String(repeating: "i", count: 26), "r-" + real.dropFirst(2), "%20" + real, String(repeating: "r", count: 300),
            ]
            let calls: [(HTTPRequest.Method, String, String?)] = [
                (.get, "", nil), (.post, "/join", nil), (.post, "/leave", nil),
                (.post, "/members", #"{"userId":"\#(alice.userID)"}"#), (.get, "/members", nil),
                (.post, "/messages", #"{"text":"hi","clientMsgId":"u-1"}"#), (.get, "/messages", nil), (.get, "/presence", nil),
            ]
            for shape in shapes {
                for (method, path, body) in calls {
                    let reply = try await api.call(method, "/api/v1/rooms/\(shape)\(path)", json: body, as: alice)
                    #expect(reply.status == .notFound && reply.errorCode == "rooms.not_found", "\(method) \(shape)\(path): \(reply.body)")
                }
            }
            #expect(try await api.roomIDs(as: alice) == [real], "no room was joined or created")
        }
    }

    @Test("presence: the users following a room on a socket, for members only")
    func presence() async throws {
        try await RealtimeHarness.run { harness in
            let alice = try await harness.login("alice")
            let bob = try await harness.login("bob")
            let carol = try await harness.login("carol")
            let created = try await harness.api.json(.POST, "/api/v1/rooms", json: #"{"name":"Live","policy":"open"}"#, token: alice.token)
            let id = try #require(created["id"] as? String)
            let nobody = try await harness.api.json(.GET, "/api/v1/rooms/\(id)/presence", token: alice.token)
            #expect(nobody.keys.sorted() == ["online", "users"])
            #expect(nobody["online"] as? Int == 0 && nobody["users"] as? [String] == [])

            let socket = try await harness.connect(bob.token)
            _ = try await socket.welcome()
            try await socket.send(json: ["type": "join", "room": id])
            #expect(await socket.frame("joined") != nil)
            let online = try await Self.presence(of: id, harness, token: alice.token) { $0 == [bob.userID] }
            #expect(online["online"] as? Int == 1 && online["users"] as? [String] == [bob.userID])

            let outsider = try await harness.api.call(.GET, "/api/v1/rooms/\(id)/presence", token: carol.token)
            #expect(outsider.status == 403 && outsider.body.contains("rooms.not_member"))
            #expect(try await harness.api.call(.GET, "/api/v1/rooms/\(id)/presence").status == 401)

            await socket.close()
            let gone = try await Self.presence(of: id, harness, token: alice.token) { $0.isEmpty }
            #expect(gone["online"] as? Int == 0, "a closed socket no longer counts")
        }
    }

    /// Presence as the endpoint answers it once `until` holds of its users (or after 5 s):
    /// a socket's joining and closing reach the registry just after the frames say so.
    static func presence(of room: String, _ harness: RealtimeHarness, token: String,
                         until: ([String]) -> Bool) async throws -> [String: Any] {
        let deadline = ContinuousClock.now + .seconds(5)
        while true {
            let answer = try await harness.api.json(.GET, "/api/v1/rooms/\(room)/presence", token: token)
            if until(answer["users"] as? [String] ?? []) || ContinuousClock.now > deadline { return answer }
            try await Task.sleep(for: .milliseconds(20))
        }
    }
}

/// The room calls these tests make.
extension RealtimeAPI {
    fileprivate func createRoom(_ name: String, policy: String?, as user: User) async throws -> Exchange {
        var body = #"{"name":"#
        JSONText.appendString(name, to: &body)
        if let policy { body += #","policy":"\#(policy)""# }
        return try await call(.post, "/api/v1/rooms", json: body + "}", as: user)
    }

    fileprivate func roomIDs(as user: User) async throws -> [String] {
        let rooms = try #require(try await call(.get, "/api/v1/rooms", as: user).json["rooms"] as? [[String: Any]])
        return rooms.compactMap { $0["id"] as? String }
    }

    fileprivate func addMember(_ userID: String, to room: String, as user: User) async throws -> Exchange {
        try await call(.post, "/api/v1/rooms/\(room)/members", json: #"{"userId":"\#(userID)"}"#, as: user)
    }

    fileprivate func post(_ text: String, to room: String, clientID: String, as user: User) async throws -> Exchange {
        var body = ""
        JSONText.appendString(text, to: &body)
        return try await call(.post, "/api/v1/rooms/\(room)/messages", json: #"{"text":\#(body),"clientMsgId":"\#(clientID)"}"#, as: user)
    }
}
