import Foundation
import HTTPTypes
import SwiftletConfig
import SwiftletCore
import Testing

/// The inbox, direct messages and block lists over REST, through the whole application
/// (bearer auth, error mapping) on a live server.
@Suite("Realtime REST routes")
struct RealtimeRoutesTests {
    @Test("a direct message reaches the recipient's inbox and the sender's copy; a replay stores nothing",
          arguments: EngineKind.available)
    func directMessage(_ kind: EngineKind) async throws {
        try await RealtimeAPI.run(kind) { api in
            let alice = try await api.login("alice")
            let bob = try await api.login("bob")

            let sent = try await api.sendText("hello\nbob\t👋", to: bob.userID, id: "c-1", as: alice)
            #expect(sent.status == .created)
            let receipt = sent.json
            let messageID = try #require(receipt["id"] as? String)
            #expect(messageID.hasPrefix("m_"))
            #expect(receipt["seq"] as? Int == 1 && receipt["recipientSeq"] as? Int == 1)
            #expect(sent.headers[.idempotentReplayed] == nil)

            let inbox = try await api.call(.get, "/api/v1/inbox", as: bob)
            #expect(inbox.status == .ok)
            #expect(inbox.body.contains(#""payload":{"#), "the payload is embedded as an object, not a string")
            let delivered = try #require((inbox.json["messages"] as? [[String: Any]])?.first)
            #expect(delivered["seq"] as? Int == 1 && delivered["kind"] as? String == "dm")
            #expect((delivered["createdAt"] as? String)?.hasSuffix("Z") == true)
            let payload = try #require(delivered["payload"] as? [String: Any])
            #expect(payload["id"] as? String == messageID)
            #expect(payload["from"] as? String == alice.userID && payload["to"] as? String == bob.userID)
            #expect(payload["text"] as? String == "hello\nbob\t👋" && payload["clientMsgId"] as? String == "c-1")
            #expect(inbox.json["head"] as? Int == 1 && inbox.json["oldest"] as? Int == 1)
            #expect(inbox.json["reset"] as? Bool == false && inbox.json["unread"] as? Int == 1)

            let own = try await api.call(.get, "/api/v1/inbox", as: alice)
            let copy = try #require((own.json["messages"] as? [[String: Any]])?.first)
            #expect(copy["kind"] as? String == "dm.sent" && copy["seq"] as? Int == 1)
            #expect((copy["payload"] as? [String: Any])?["id"] as? String == messageID)

            let replay = try await api.sendText("hello\nbob\t👋", to: bob.userID, id: "c-1", as: alice)
            #expect(replay.status == .ok && replay.headers[.idempotentReplayed] == "true")
            #expect(replay.json["id"] as? String == messageID && replay.json["seq"] as? Int == 1)
            #expect(replay.json["recipientSeq"] as? Int == 1 && replay.json["createdAt"] as? String == receipt["createdAt"] as? String)
            #expect(try await api.call(.get, "/api/v1/inbox", as: bob).json["head"] as? Int == 1, "nothing new in the inbox")
            #expect(try await api.call(.get, "/api/v1/inbox", as: alice).json["head"] as? Int == 1)

            let conflict = try await api.sendText("something else", to: bob.userID, id: "c-1", as: alice)
            #expect(conflict.status == .conflict && conflict.errorCode == "messages.client_msg_id_conflict")
        }
    }

    @Test("a payload object is stored and read back as an object", arguments: EngineKind.available)
    func payloadMessage(_ kind: EngineKind) async throws {
        try await RealtimeAPI.run(kind) { api in
            let alice = try await api.login("alice")
            let bob = try await api.login("bob")
            let body = #"{"to":"\#(bob.userID)","payload":{"sticker":"cat","size":3,"tags":["a","b"],"meta":{"ok":true,"url":"https://x/y"}},"clientMsgId":"p:1"}"#
            let sent = try await api.call(.post, "/api/v1/messages", json: body, as: alice)
            #expect(sent.status == .created)
            let inbox = try await api.call(.get, "/api/v1/inbox", as: bob)
            let message = try #require((inbox.json["messages"] as? [[String: Any]])?.first)
            let stored = try #require((message["payload"] as? [String: Any])?["payload"] as? [String: Any])
            #expect(stored["sticker"] as? String == "cat" && stored["size"] as? Int == 3)
            #expect(stored["tags"] as? [String] == ["a", "b"])
            #expect((stored["meta"] as? [String: Any])?["ok"] as? Bool == true)
            #expect((stored["meta"] as? [String: Any])?["url"] as? String == "https://x/y")

            // The same object with its keys in another order is the same message.
            let reordered = #"{"clientMsgId":"p:1","payload":{"meta":{"url":"https://x/y","ok":true},"tags":["a","b"],"size":3,"sticker":"cat"},"to":"\#(bob.userID)"}"#
            let replay = try await api.call(.post, "/api/v1/messages", json: reordered, as: alice)
            #expect(replay.status == .ok && replay.json["id"] as? String == sent.json["id"] as? String)
        }
    }

    @Test("refused messages: self, unknown recipient, bad text or content, bad ids", arguments: EngineKind.available)
    func refusals(_ kind: EngineKind) async throws {
        try await RealtimeAPI.run(kind) { api in
            let alice = try await api.login("alice")
            let bob = try await api.login("bob")
            let to = bob.userID
            let cases: [(String, HTTPResponse.Status, String?)] = [
                (#"{"to":"\#(alice.userID)","text":"me","clientMsgId":"r1"}"#, .badRequest, "messages.to_self"),
                (#"{"to":"u_nobody","text":"hi","clientMsgId":"r2"}"#, .notFound, "messages.recipient_not_found"),
                (#"{"to":"\#(to)","text":"ring\u0007","clientMsgId":"r3"}"#, .badRequest, "messages.invalid_text"),
                (#"{"to":"\#(to)","text":"","clientMsgId":"r4"}"#, .badRequest, "messages.invalid_text"),
                (#"{"to":"\#(to)","payload":"not an object","clientMsgId":"r5"}"#, .badRequest, "messages.invalid_content"),
                (#"{"to":"\#(to)","payload":[1,2],"clientMsgId":"r6"}"#, .badRequest, "messages.invalid_content"),
                (#"{"to":"\#(to)","payload":null,"clientMsgId":"r7"}"#, .badRequest, "messages.invalid_content"),
                (#"{"to":"\#(to)","text":"hi","payload":{},"clientMsgId":"r8"}"#, .badRequest, "messages.invalid_content"),
                (#"{"to":"\#(to)","clientMsgId":"r9"}"#, .badRequest, "messages.invalid_content"),
                (#"{"to":"\#(to)","payload":{"n":1e999},"clientMsgId":"r10"}"#, .badRequest, nil),
                (#"{"to":"\#(to)","payload":{"deep":\#(String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000))},"clientMsgId":"r14"}"#,
                 .badRequest, nil),
                (#"{"to":"u nobody","text":"hi","clientMsgId":"r11"}"#, .badRequest, "messages.invalid_recipient"),
                (#"{"to":"\#(to)","text":"hi","clientMsgId":"no spaces"}"#, .badRequest, "messages.invalid_client_msg_id"),
                (#"{"to":"\#(to)","text":"hi"}"#, .badRequest, "request.missing_field"),
                (#"{"to":"\#(to)","text":"\#(String(repeating: "x", count: 2_001))","clientMsgId":"r12"}"#, .badRequest,
                 "messages.invalid_text"),
            ]
            for (body, status, code) in cases {
                let reply = try await api.call(.post, "/api/v1/messages", json: body, as: alice)
                #expect(reply.status == status, "\(body.prefix(80)): \(reply.body)")
                if let code { #expect(reply.errorCode == code, "\(body.prefix(80))") }
            }
            #expect(try await api.call(.get, "/api/v1/inbox", as: bob).json["head"] as? Int == 0, "nothing was stored")
            #expect(try await api.call(.get, "/api/v1/inbox", as: alice).json["head"] as? Int == 0)
            let anonymous = try await api.exchange(.post, "/api/v1/messages", json: #"{"to":"\#(to)","text":"hi","clientMsgId":"a"}"#)
            #expect(anonymous.status == .unauthorized)
            // Last: every 413 closes the connection (`SwiftletResponder`), and this client does not reconnect.
            let large = #"{"to":"\#(to)","payload":{"blob":"\#(String(repeating: "x", count: 5_000))"},"clientMsgId":"r13"}"#
            let tooLarge = try await api.call(.post, "/api/v1/messages", json: large, as: alice)
            #expect(tooLarge.status == .contentTooLarge && tooLarge.errorCode == "messages.payload_too_large")
        }
    }

    @Test("a blocked sender is refused until unblocked", arguments: EngineKind.available)
    func blocks(_ kind: EngineKind) async throws {
        try await RealtimeAPI.run(kind) { api in
            let alice = try await api.login("alice")
            let bob = try await api.login("bob")
            let block = #"{"userId":"\#(alice.userID)"}"#
            #expect(try await api.call(.post, "/api/v1/blocks", json: block, as: bob).status == .noContent)
            #expect(try await api.call(.post, "/api/v1/blocks", json: block, as: bob).status == .noContent, "blocking again is fine")
            #expect(try await api.call(.get, "/api/v1/blocks", as: bob).json["blocked"] as? [String] == [alice.userID])
            #expect(try await api.call(.get, "/api/v1/blocks", as: alice).json["blocked"] as? [String] == [])

            let refused = try await api.sendText("hi", to: bob.userID, id: "b-1", as: alice)
            #expect(refused.status == .forbidden && refused.errorCode == "messages.blocked")
            let reverse = try await api.sendText("hi", to: alice.userID, id: "b-2", as: bob)
            #expect(reverse.status == .created, "blocking is one way")

            let yourself = try await api.call(.post, "/api/v1/blocks", json: #"{"userId":"\#(bob.userID)"}"#, as: bob)
            #expect(yourself.status == .badRequest && yourself.errorCode == "blocks.self")
            let invalid = try await api.call(.post, "/api/v1/blocks", json: #"{"userId":"not a user"}"#, as: bob)
            #expect(invalid.status == .badRequest && invalid.errorCode == "blocks.invalid_user")
            let invalidPath = try await api.call(.delete, "/api/v1/blocks/\(String(repeating: "u", count: 65))", as: bob)
            #expect(invalidPath.status == .badRequest && invalidPath.errorCode == "blocks.invalid_user")

            #expect(try await api.call(.delete, "/api/v1/blocks/\(alice.userID)", as: bob).status == .noContent)
            #expect(try await api.call(.delete, "/api/v1/blocks/\(alice.userID)", as: bob).status == .noContent, "unblocking again is fine")
            #expect(try await api.call(.get, "/api/v1/blocks", as: bob).json["blocked"] as? [String] == [])
            let accepted = try await api.sendText("hi", to: bob.userID, id: "b-1", as: alice)
            #expect(accepted.status == .created, "the refused client id was not used up: \(accepted.body)")
        }
    }

    @Test("past realtime.messagesPerMinute a sender gets 429 with Retry-After", arguments: EngineKind.available)
    func rateLimit(_ kind: EngineKind) async throws {
        // A clock held 15 s into a minute, so the three sends share one counting minute.
        let second = (Date().timeIntervalSince1970 / 60).rounded(.down) * 60 + 15
        let clock = SwiftletClock { Date(timeIntervalSince1970: second) }
        try await RealtimeAPI.run(kind, clock: clock, { $0.realtime.messagesPerMinute = 2 }) { api in
            let alice = try await api.login("alice")
            let bob = try await api.login("bob")
            #expect(try await api.sendText("1", to: bob.userID, id: "l-1", as: alice).status == .created)
            #expect(try await api.sendText("2", to: bob.userID, id: "l-2", as: alice).status == .created)
            let limited = try await api.sendText("3", to: bob.userID, id: "l-3", as: alice)
            #expect(limited.status == .tooManyRequests && limited.errorCode == "messages.rate_limited")
            #expect(limited.headers[.retryAfter] == "45")
            #expect(try await api.sendText("4", to: alice.userID, id: "l-4", as: bob).status == .created, "the limit is per sender")
            #expect(try await api.call(.get, "/api/v1/inbox", as: bob).json["head"] as? Int == 3)
        }
    }

    @Test("reading with since and limit; acknowledging moves the cursor forward and unread drops", arguments: EngineKind.available)
    func inboxAndAck(_ kind: EngineKind) async throws {
        try await RealtimeAPI.run(kind) { api in
            let alice = try await api.login("alice")
            let bob = try await api.login("bob")
            for index in 1...3 {
                #expect(try await api.sendText("m\(index)", to: bob.userID, id: "i-\(index)", as: alice).status == .created)
            }
            let all = try await api.call(.get, "/api/v1/inbox", as: bob).json
            #expect((all["messages"] as? [[String: Any]])?.compactMap { $0["seq"] as? Int } == [1, 2, 3])
            #expect(all["unread"] as? Int == 3 && (all["cursors"] as? [Any])?.isEmpty == true)

            let page = try await api.call(.get, "/api/v1/inbox?since=1&limit=1", as: bob).json
            #expect((page["messages"] as? [[String: Any]])?.compactMap { $0["seq"] as? Int } == [2])
            #expect(page["head"] as? Int == 3)
            let beyond = try await api.call(.get, "/api/v1/inbox?since=\(Int64.max)", as: bob)
            #expect(beyond.status == .ok && (beyond.json["messages"] as? [Any])?.isEmpty == true && beyond.json["reset"] as? Bool == false)

            let acked = try await api.call(.post, "/api/v1/inbox/ack", json: #"{"device":"phone-1","seq":2}"#, as: bob)
            #expect(acked.status == .ok)
            #expect(acked.json["device"] as? String == "phone-1" && acked.json["acked"] as? Int == 2 && acked.json["unread"] as? Int == 1)
            #expect(acked.json["updatedAt"] is String)
            let after = try await api.call(.get, "/api/v1/inbox?since=3", as: bob).json
            #expect(after["unread"] as? Int == 1)
            let cursor = try #require((after["cursors"] as? [[String: Any]])?.first)
            #expect(cursor["device"] as? String == "phone-1" && cursor["acked"] as? Int == 2)

            let back = try await api.call(.post, "/api/v1/inbox/ack", json: #"{"device":"phone-1","seq":1}"#, as: bob)
            #expect(back.json["acked"] as? Int == 2, "a cursor never moves back")
            let other = try await api.call(.post, "/api/v1/inbox/ack", json: #"{"device":"tablet","seq":1}"#, as: bob)
            #expect(other.json["acked"] as? Int == 1 && other.json["unread"] as? Int == 1, "unread counts the furthest device")
            let past = try await api.call(.post, "/api/v1/inbox/ack", json: #"{"device":"phone-1","seq":99}"#, as: bob)
            #expect(past.json["acked"] as? Int == 3 && past.json["unread"] as? Int == 0, "a cursor stops at the head")
            #expect(try await api.call(.get, "/api/v1/inbox", as: bob).json["unread"] as? Int == 0)

            let invalid: [(String, String)] = [
                (#"{"device":"my phone","seq":1}"#, "inbox.invalid_device"),
                (#"{"device":"","seq":1}"#, "inbox.invalid_device"),
                (#"{"device":"\#(String(repeating: "d", count: 65))","seq":1}"#, "inbox.invalid_device"),
                (#"{"device":"phone-1","seq":-1}"#, "inbox.invalid_seq"),
                (#"{"device":"phone-1","seq":"1"}"#, "request.invalid_type"),
            ]
            for (body, code) in invalid {
                let reply = try await api.call(.post, "/api/v1/inbox/ack", json: body, as: bob)
                #expect(reply.status == .badRequest && reply.errorCode == code, "\(body): \(reply.body)")
            }
            for (query, code) in [("limit=0", "request.invalid_limit"), ("limit=501", "request.invalid_limit"),
                                  ("since=-1", "inbox.invalid_since"), ("since=x", "inbox.invalid_since")] {
                let reply = try await api.call(.get, "/api/v1/inbox?\(query)", as: bob)
                #expect(reply.status == .badRequest && reply.errorCode == code, "\(query): \(reply.body)")
            }
            #expect(try await api.exchange(.get, "/api/v1/inbox").status == .unauthorized)
        }
    }

    @Test("a plain GET of the realtime endpoint is told to upgrade, with or without credentials")
    func upgradeRequired() async throws {
        try await RealtimeAPI.run(.sqlite) { api in
            for headers: HTTPFields in [[:], [.authorization: "Bearer nonsense"], [HTTPField.Name("X-Request-Id")!: "req-426"]] {
                let reply = try await api.exchange(.get, "/api/v1/realtime?since=0&device=d1", headers: headers)
                #expect(reply.status == .upgradeRequired)
                #expect(reply.headers[.upgrade] == "websocket")
                #expect(reply.headers[.contentType] == "application/json; charset=utf-8")
                let error = try #require(reply.json["error"] as? [String: Any])
                #expect(error["code"] as? String == "realtime.upgrade_required" && error["message"] is String)
                let requestID = try #require(reply.headers[HTTPField.Name("X-Request-Id")!])
                #expect(error["requestId"] as? String == requestID)
                #expect(reply.json.keys.sorted() == ["error"] && error.keys.sorted() == ["code", "message", "requestId"])
            }
        }
    }
}

/// The direct-message call these tests make.
extension RealtimeAPI {
    fileprivate func sendText(_ text: String, to recipient: String, id: String, as user: User) async throws -> Exchange {
        var body = ""
        JSONText.appendString(text, to: &body)
        return try await call(.post, "/api/v1/messages", json: #"{"to":"\#(recipient)","text":\#(body),"clientMsgId":"\#(id)"}"#, as: user)
    }
}
