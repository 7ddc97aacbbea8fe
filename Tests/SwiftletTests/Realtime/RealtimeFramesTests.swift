import Foundation
import NIOHTTP1
import SwiftletCore
@testable import SwiftletRealtime
import SwiftletTransport
import Testing

/// What goes over the wire and what decides whether a socket opens: server frames as
/// JSON, client frames parsed, close codes, the handshake helpers and the connection
/// slots the upgrade takes. No socket is opened.
@Suite("Realtime frames, closes and handshake")
struct RealtimeFramesTests {
    static let user = UserID(rawValue: "u_bob")
    static let date = Date(timeIntervalSince1970: 1_750_000_000.25)

    /// The frame's text parsed back as a JSON object.
    static func object(_ frame: ServerFrame) throws -> [String: Any] {
        let parsed = try JSONSerialization.jsonObject(with: Data(frame.text.utf8))
        return try #require(parsed as? [String: Any], "not a JSON object: \(frame.text)")
    }

    static func int(_ value: Any?) -> Int64? {
        (value as? NSNumber)?.int64Value
    }

    // MARK: Server frames

    @Test("every server frame is a JSON object with its type and a numeric seq")
    func everyFrameHasTypeAndSeq() throws {
        let message = InboxMessage(userID: Self.user, seq: 9, kind: "dm", payload: "{}", createdAt: Self.date)
        let frames: [(ServerFrame, String, Int64)] = [
            (.welcome(seq: 1, userID: Self.user, connectionID: "c_1", pingIntervalSeconds: 25), "welcome", 1),
            (.message(message), "message", 9),
            (.reset(seq: 15, oldest: 16, requested: 3), "reset", 15),
            (.caughtUp(seq: 2), "caught_up", 2),
            (.tokenExpired(seq: 3, graceSeconds: 30), "token_expired", 3),
            (.tokenRefreshed(seq: 4, expiresAt: Self.date), "token_refreshed", 4),
            (.pong(seq: 5), "pong", 5),
            (.acked(seq: 6, device: "phone", ackedSeq: 6), "acked", 6),
            (.sent(seq: 7, clientMessageID: "m1", messageID: "m_x", messageSeq: 8), "sent", 7),
            (.error(seq: 0, code: "x.y", message: "z", clientMessageID: nil), "error", 0),
        ]
        for (frame, type, seq) in frames {
            let object = try Self.object(frame)
            #expect(object["type"] as? String == type)
            #expect(Self.int(object["seq"]) == seq, "\(frame.text)")
        }
    }

    @Test("message embeds its payload as an object, with the message's own seq, kind and time")
    func messageFrame() throws {
        let payload = #"{"from":"u_eve","text":"hi \"there\"\n","n":[1,2]}"#
        let message = InboxMessage(userID: Self.user, seq: 42, kind: #"dm"quoted"#, payload: payload, createdAt: Self.date)
        let object = try Self.object(.message(message))
        #expect(Set(object.keys) == ["type", "seq", "kind", "payload", "createdAt"])
        #expect(Self.int(object["seq"]) == 42)
        #expect(object["kind"] as? String == #"dm"quoted"#)
        #expect(object["createdAt"] as? String == RFC3339.string(Self.date))
        let embedded = try #require(object["payload"] as? [String: Any])
        #expect(embedded["from"] as? String == "u_eve")
        #expect(embedded["text"] as? String == "hi \"there\"\n")
        #expect((embedded["n"] as? [NSNumber])?.map(\.intValue) == [1, 2])
        #expect(object["userId"] == nil, "the user is the connection's; not repeated")
    }

    @Test("the other frames carry exactly their fields")
    func otherFrames() throws {
        let welcome = try Self.object(.welcome(seq: 3, userID: Self.user, connectionID: "c_1", pingIntervalSeconds: 25))
        #expect(Set(welcome.keys) == ["type", "seq", "userId", "connectionId", "pingInterval"])
        #expect(welcome["userId"] as? String == "u_bob" && welcome["connectionId"] as? String == "c_1")
        #expect(Self.int(welcome["pingInterval"]) == 25)

        let reset = try Self.object(.reset(seq: 15, oldest: 16, requested: 3))
        #expect(Self.int(reset["oldest"]) == 16 && Self.int(reset["requested"]) == 3)

        #expect(Self.int(try Self.object(.tokenExpired(seq: 0, graceSeconds: 30))["grace"]) == 30)
        let refreshed = try Self.object(.tokenRefreshed(seq: 0, expiresAt: Self.date))
        #expect(refreshed["expiresAt"] as? String == RFC3339.string(Self.date))

        let acked = try Self.object(.acked(seq: 9, device: "phone", ackedSeq: 7))
        #expect(acked["device"] as? String == "phone" && Self.int(acked["acked"]) == 7)

        let sent = try Self.object(.sent(seq: 9, clientMessageID: "m1", messageID: "m_abc", messageSeq: 10))
        #expect(Set(sent.keys) == ["type", "seq", "clientMsgId", "id", "messageSeq"])
        #expect(sent["clientMsgId"] as? String == "m1" && sent["id"] as? String == "m_abc" && Self.int(sent["messageSeq"]) == 10)

        let error = try Self.object(.error(seq: 1, code: "messages.invalid_text", message: "a \"b\"\n", clientMessageID: "m1"))
        #expect(error["code"] as? String == "messages.invalid_text" && error["message"] as? String == "a \"b\"\n")
        #expect(error["clientMsgId"] as? String == "m1")
        let anonymous = try Self.object(.error(seq: 1, code: "x.y", message: "z", clientMessageID: nil))
        #expect(Set(anonymous.keys) == ["type", "seq", "code", "message"], "no clientMsgId when there is none")
    }

    // MARK: Client frames

    @Test("text that is not a JSON object with a string type is a protocol violation",
          arguments: ["", "not json", "[]", "\"auth\"", "{}", #"{"type":1}"#, #"{"type":null}"#, #"{"token":"x"}"#, "{\"type\":"])
    func violations(text: String) {
        #expect(ClientFrame.parse(text) == nil)
    }

    @Test("auth, ack and ping")
    func simpleFrames() {
        #expect(ClientFrame.parse(#"{"type":"auth","token":"abc.def"}"#) == .auth(token: "abc.def"))
        #expect(ClientFrame.parse(#"{"type":"ack","seq":7}"#) == .ack(seq: 7))
        #expect(ClientFrame.parse(#"{"type":"ping"}"#) == .ping)
        #expect(ClientFrame.parse(#"{"type":"ping","extra":true}"#) == .ping, "unknown fields are ignored")
        // A known type without its field is answered like an unknown one (an error, no close).
        #expect(ClientFrame.parse(#"{"type":"auth"}"#) == .unknown(type: "auth"))
        #expect(ClientFrame.parse(#"{"type":"ack","seq":"7"}"#) == .unknown(type: "ack"))
    }

    @Test("an unknown type is kept (at most 64 characters) for the error frame")
    func unknownType() {
        #expect(ClientFrame.parse(#"{"type":"typing","to":"u_eve"}"#) == .unknown(type: "typing"))
        let long = String(repeating: "x", count: 500)
        #expect(ClientFrame.parse(#"{"type":"\#(long)"}"#) == .unknown(type: String(repeating: "x", count: 64)))
    }

    @Test("send with text, and send with a payload object (re-serialised with sorted keys)")
    func sendFrames() throws {
        #expect(ClientFrame.parse(#"{"type":"send","to":"u_eve","text":"hi","clientMsgId":"m1"}"#)
            == .send(DirectMessageSubmission(to: "u_eve", text: "hi", payload: nil, clientMessageID: "m1")))
        let frame = ClientFrame.parse(#"{"type":"send","to":"u_eve","payload":{"b":{"y":1,"x":[true]},"a":"\u00e9"},"clientMsgId":"m2"}"#)
        guard case .send(let submission) = frame else {
            Issue.record("not a send: \(String(describing: frame))")
            return
        }
        #expect(submission.to == "u_eve" && submission.clientMessageID == "m2" && submission.text == nil)
        let payload = try #require(submission.payload)
        #expect(payload == #"{"a":"é","b":{"x":[true],"y":1}}"#)
        // Missing fields reach the service as empty strings, which it refuses.
        #expect(ClientFrame.parse(#"{"type":"send"}"#) == .send(DirectMessageSubmission(to: "", text: nil, payload: nil, clientMessageID: "")))
    }

    /// `POST /api/v1/messages` refuses such a body with `messages.invalid_content`; so
    /// does the socket (a submission with neither text nor payload), and its error frame
    /// names the client's message so the client can match the refusal to what it sent.
    @Test("send with a payload that is not an object keeps the recipient and client id, with no content",
          arguments: ["[1]", "\"text\"", "3", "null"])
    func sendWithNonObjectPayload(payload: String) {
        let frame = ClientFrame.parse(#"{"type":"send","to":"u_eve","text":"hi","payload":\#(payload),"clientMsgId":"m1"}"#)
        #expect(frame == .send(DirectMessageSubmission(to: "u_eve", text: nil, payload: nil, clientMessageID: "m1")))
    }

    // MARK: Close codes

    @Test("close codes are unique; 4000–4499 reconnect, 4500–4999 do not; reasons fit a close frame")
    func closeCodes() {
        let all = RealtimeClose.allCases
        #expect(Set(all.map(\.code)).count == all.count)
        for close in all {
            switch close.code {
            case 4000..<4500: #expect(close.reconnects, "\(close) \(close.code)")
            case 4500..<5000: #expect(!close.reconnects, "\(close) \(close.code)")
            case 1000, 1009: #expect(!close.reconnects, "\(close) \(close.code)")
            default: Issue.record("\(close) has code \(close.code), outside the application range")
            }
            #expect(!close.reason.isEmpty && close.reason.utf8.count <= 123, "\(close)")
        }
        #expect(RealtimeClose.frameTooLarge.code == 1009 && RealtimeClose.normal.code == 1000)
    }

    // MARK: Handshake helpers

    static func upgrade(_ headers: [(String, String)], uri: String = "/api/v1/realtime") -> UpgradeRequest {
        UpgradeRequest(head: HTTPRequestHead(version: .http1_1, method: .GET, uri: uri, headers: HTTPHeaders(headers)),
                       requestID: "r_test", client: nil)
    }

    static let validHeaders = [
        ("Upgrade", "websocket"), ("Connection", "Upgrade"), ("Sec-WebSocket-Version", "13"),
        ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
    ]

    static func headers(replacing name: String, with value: String?) -> [(String, String)] {
        var headers = validHeaders.filter { $0.0 != name }
        if let value { headers.append((name, value)) }
        return headers
    }

    static func refusal(_ body: () throws -> Any) -> String? {
        do {
            _ = try body()
            return nil
        } catch let error as SwiftletError {
            return error.kind == .invalidInput ? error.code : "\(error.kind): \(error.code)"
        } catch {
            return "\(error)"
        }
    }

    @Test("the accept value is RFC 6455's")
    func acceptValue() {
        #expect(RealtimeUpgrader.acceptValue("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
    }

    @Test("a version-13 handshake gives its key; header names and tokens are case-insensitive")
    func validHandshake() throws {
        #expect(try RealtimeUpgrader.checkHandshake(Self.upgrade(Self.validHeaders)) == "dGhlIHNhbXBsZSBub25jZQ==")
        let browserLike = Self.headers(replacing: "Connection", with: "keep-alive, Upgrade")
            .map { ($0.0.lowercased(), $0.0 == "Upgrade" ? "WebSocket" : $0.1) }
        #expect(try RealtimeUpgrader.checkHandshake(Self.upgrade(browserLike)) == "dGhlIHNhbXBsZSBub25jZQ==")
    }

    @Test("handshakes that are not WebSocket version 13 with a 16-byte key are refused")
    func refusedHandshakes() {
        let cases: [([(String, String)], String)] = [
            (Self.headers(replacing: "Upgrade", with: nil), "realtime.not_websocket"),
            (Self.headers(replacing: "Upgrade", with: "h2c"), "realtime.not_websocket"),
            (Self.headers(replacing: "Connection", with: "keep-alive"), "realtime.not_websocket"),
            (Self.headers(replacing: "Sec-WebSocket-Version", with: nil), "realtime.unsupported_version"),
            (Self.headers(replacing: "Sec-WebSocket-Version", with: "8"), "realtime.unsupported_version"),
            (Self.headers(replacing: "Sec-WebSocket-Key", with: nil), "realtime.invalid_key"),
            (Self.headers(replacing: "Sec-WebSocket-Key", with: "not base64!"), "realtime.invalid_key"),
            (Self.headers(replacing: "Sec-WebSocket-Key", with: Data(count: 15).base64EncodedString()), "realtime.invalid_key"),
            (Self.headers(replacing: "Sec-WebSocket-Key", with: Data(count: 17).base64EncodedString()), "realtime.invalid_key"),
        ]
        for (headers, code) in cases {
            #expect(Self.refusal { try RealtimeUpgrader.checkHandshake(Self.upgrade(headers)) } == code, "\(headers)")
        }
    }

    /// `since` and `device` as one string, for comparisons.
    static func query(_ query: Substring) throws -> String {
        let (since, device) = try RealtimeUpgrader.parseQuery(query)
        return "\(since) \(device)"
    }

    @Test("since and device from the query, with their defaults")
    func query() throws {
        #expect(try Self.query("") == "0 default")
        #expect(try Self.query("since=42&device=phone-1.a_b") == "42 phone-1.a_b")
        #expect(try Self.query("device=tablet&other=1&since=0") == "0 tablet", "other keys are ignored")
        #expect(try Self.query("since=\(Int64.max)") == "\(Int64.max) default")
        let longest = String(repeating: "d", count: 64)
        #expect(try Self.query("device=\(longest)") == "0 \(longest)")
        #expect(try Self.query("&&x") == "0 default")
        let request = Self.upgrade(Self.validHeaders, uri: "/api/v1/realtime?since=7&device=d1")
        #expect(try Self.query(request.query) == "7 d1")
    }

    @Test("since must be a sequence number and device an identifier of 1–64 characters",
          arguments: [
            ("since=-1", "realtime.invalid_since"), ("since=abc", "realtime.invalid_since"), ("since=", "realtime.invalid_since"),
            ("since", "realtime.invalid_since"), ("since=9223372036854775808", "realtime.invalid_since"),
            ("since=1.5", "realtime.invalid_since"), ("device=", "realtime.invalid_device"),
            ("device=a%20b", "realtime.invalid_device"), ("device=a/b", "realtime.invalid_device"),
            ("device=\(String(repeating: "d", count: 65))", "realtime.invalid_device"),
          ])
    func invalidQuery(query: String, code: String) {
        #expect(Self.refusal { try RealtimeUpgrader.parseQuery(Substring(query)) } == code)
    }

    @Test("a bearer token from the Authorization header")
    func bearer() {
        #expect(RealtimeUpgrader.bearer("Bearer abc.def.ghi") == "abc.def.ghi")
        #expect(RealtimeUpgrader.bearer("bearer abc") == "abc")
        #expect(RealtimeUpgrader.bearer("BEARER abc") == "abc")
        #expect(RealtimeUpgrader.bearer("Basic dXNlcjpwYXNz") == nil)
        #expect(RealtimeUpgrader.bearer("Bearer") == nil)
        #expect(RealtimeUpgrader.bearer("Bearer ") == nil)
        #expect(RealtimeUpgrader.bearer("") == nil)
        #expect(RealtimeUpgrader.bearer("abc") == nil)
    }

    // MARK: Connection slots

    static var limited: RealtimeSettings {
        var settings = RealtimeSettings()
        settings.maxConnectionsPerUser = 2
        settings.maxConnectionsPerNode = 3
        return settings
    }

    @Test("a user gets at most maxConnectionsPerUser reservations; a cancelled one is given back")
    func perUserSlots() {
        let registry = RealtimeRegistry(settings: Self.limited)
        let eve = UserID(rawValue: "u_eve")
        #expect(registry.reserve(Self.user) && registry.reserve(Self.user))
        #expect(!registry.reserve(Self.user))
        #expect(registry.connectionCount(of: Self.user) == 2)
        #expect(registry.reserve(eve), "the limit is per user")
        registry.cancelReservation(Self.user)
        #expect(registry.connectionCount(of: Self.user) == 1)
        #expect(registry.reserve(Self.user))
        registry.cancelReservation(eve)
        registry.cancelReservation(eve)
        #expect(registry.connectionCount(of: eve) == 0, "a cancel without a reservation does not go below zero")
        #expect(registry.reserve(eve) && registry.reserve(eve) && !registry.reserve(eve))
    }

    @Test("the node admits at most maxConnectionsPerNode connections; a release frees a slot")
    func perNodeSlots() {
        let registry = RealtimeRegistry(settings: Self.limited)
        #expect(registry.admit() && registry.admit() && registry.admit())
        #expect(!registry.admit())
        #expect(registry.connectionCount == 3)
        registry.release()
        #expect(registry.connectionCount == 2)
        #expect(registry.admit() && !registry.admit())
    }

    @Test("a registry without connections delivers to nobody")
    func emptyRegistry() {
        let registry = RealtimeRegistry(settings: RealtimeSettings())
        registry.deliver([InboxMessage(userID: Self.user, seq: 1, kind: "dm", payload: "{}", createdAt: Self.date)])
        registry.headMoved(of: Self.user, to: 1)
        #expect(registry.connectedUsers.isEmpty)
        #expect(registry.reserve(Self.user) && registry.connectedUsers.isEmpty, "a reservation is not a connection to deliver to")
    }
}
