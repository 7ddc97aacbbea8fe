import Foundation
import SwiftletCore
import Synchronization
import Testing

/// Direct messages before storage: the checks on recipient, client id and content, the
/// per-minute limit (over the cluster state, or this node alone when it is away), and
/// the request hash that tells a retry from a conflicting reuse of a client id.
@Suite("Direct message service")
struct DirectMessageServiceTests {
    static let alice = UserID(rawValue: "u_alice")
    static let bob = UserID(rawValue: "u_bob")
    /// 15 seconds into a minute (1_750_000_020 is a whole minute).
    static let start = Date(timeIntervalSince1970: 1_750_000_035)

    struct Fixture {
        let service: DirectMessageService
        let inbox: RecordingDirectMessageInbox
        let clock: MutableClock
    }

    static func fixture(cluster: ((SwiftletClock) -> any ClusterState)? = nil,
                        limits: DirectMessageLimits = DirectMessageLimits()) -> Fixture {
        let clock = MutableClock(start)
        let inbox = RecordingDirectMessageInbox()
        let state = cluster?(clock.clock) ?? InProcessClusterState(clock: clock.clock)
        let service = DirectMessageService(inbox: inbox, cluster: state, limits: limits, clock: clock.clock, logger: TestStorage.logger)
        return Fixture(service: service, inbox: inbox, clock: clock)
    }

    static func text(_ text: String, to: String = "u_bob", id: String = "m1") -> DirectMessageSubmission {
        DirectMessageSubmission(to: to, text: text, payload: nil, clientMessageID: id)
    }

    static func payload(_ json: String, to: String = "u_bob", id: String = "m1") -> DirectMessageSubmission {
        DirectMessageSubmission(to: to, text: nil, payload: json, clientMessageID: id)
    }

    /// The `SwiftletError` `send` throws; nil when it succeeds.
    static func refusal(_ fixture: Fixture, _ submission: DirectMessageSubmission, from sender: UserID = alice) async -> SwiftletError? {
        do {
            _ = try await fixture.service.send(from: sender, submission)
            return nil
        } catch let error as SwiftletError {
            return error
        } catch {
            Issue.record("not a SwiftletError: \(error)")
            return nil
        }
    }

    static func object(_ json: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any], "not an object: \(json)")
    }

    // MARK: What is stored

    @Test("a text message goes to storage as one JSON object naming sender, recipient and client id")
    func textMessage() async throws {
        let fixture = Self.fixture()
        let receipt = try await fixture.service.send(from: Self.alice, Self.text("hello \"Bob\"\nline 2\tend"))
        let request = try #require(fixture.inbox.requests.first)
        #expect(request.senderID == Self.alice && request.recipientID == Self.bob && request.clientMessageID == "m1")
        #expect(request.messageID.hasPrefix("m_") && receipt.messageID == request.messageID)
        let payload = try Self.object(request.payload)
        #expect(Set(payload.keys) == ["id", "from", "to", "clientMsgId", "sentAt", "text"])
        #expect(payload["id"] as? String == request.messageID)
        #expect(payload["from"] as? String == "u_alice" && payload["to"] as? String == "u_bob")
        #expect(payload["clientMsgId"] as? String == "m1")
        #expect(payload["sentAt"] as? String == RFC3339.string(Self.start))
        #expect(payload["text"] as? String == "hello \"Bob\"\nline 2\tend")
    }

    @Test("a payload message embeds the client's object as it came")
    func payloadMessage() async throws {
        let fixture = Self.fixture()
        _ = try await fixture.service.send(from: Self.alice, Self.payload(#"{"card":{"sku":"A-1","qty":2}}"#, id: "shop:1"))
        let request = try #require(fixture.inbox.requests.first)
        #expect(request.payload.contains(#","payload":{"card":{"sku":"A-1","qty":2}}}"#))
        let payload = try Self.object(request.payload)
        #expect(payload["text"] == nil)
        let card = try #require((payload["payload"] as? [String: Any])?["card"] as? [String: Any])
        #expect(card["sku"] as? String == "A-1")
    }

    // MARK: Checks

    @Test("the recipient must be a user id other than the sender's",
          arguments: ["", String(repeating: "u", count: 65), "u bob", "u/bob", "u_böb", "u_bob\n"])
    func invalidRecipient(to: String) async {
        let error = await Self.refusal(Self.fixture(), Self.text("hi", to: to))
        #expect(error?.code == "messages.invalid_recipient" && error?.kind == .invalidInput)
    }

    @Test("a message to oneself is refused")
    func toSelf() async {
        #expect(await Self.refusal(Self.fixture(), Self.text("hi", to: "u_alice"))?.code == "messages.to_self")
        #expect(await Self.refusal(Self.fixture(), Self.text("hi", to: String(repeating: "u", count: 64))) == nil,
                "64 characters is a valid id")
    }

    @Test("the client message id is 1–64 identifier characters or colons",
          arguments: ["", String(repeating: "c", count: 65), "a b", "a/b", "ü", "a\u{0}"])
    func invalidClientMessageID(id: String) async {
        #expect(await Self.refusal(Self.fixture(), Self.text("hi", id: id))?.code == "messages.invalid_client_msg_id")
    }

    @Test("valid client message ids")
    func validClientMessageIDs() async {
        for id in ["a", "shop:order:42", "A-b_c.d", String(repeating: "c", count: 64)] {
            #expect(await Self.refusal(Self.fixture(), Self.text("hi", id: id)) == nil, "\(id)")
        }
    }

    @Test("text with control or format characters is refused",
          arguments: ["a\u{0}b", "bell\u{7}", "\u{1B}[31m", "del\u{7F}", "zero\u{200B}width", "\u{202E}reversed", "bom\u{FEFF}"])
    func controlCharacters(text: String) async {
        #expect(await Self.refusal(Self.fixture(), Self.text(text))?.code == "messages.invalid_text")
    }

    @Test("line breaks (\\n and \\r\\n), tabs, emoji sequences and any script are accepted")
    func acceptedText() async {
        for text in ["one\ntwo", "one\r\ntwo", "a\tb", "👩‍👩‍👧", "🇨🇳", "你好，世界", "é", " "] {
            #expect(await Self.refusal(Self.fixture(), Self.text(text)) == nil, "\(text.unicodeScalars.map { String($0.value, radix: 16) })")
        }
    }

    @Test("text is 1 to maxTextCharacters characters")
    func textLength() async {
        let limits = DirectMessageLimits(maxTextCharacters: 10)
        #expect(await Self.refusal(Self.fixture(limits: limits), Self.text(""))?.code == "messages.invalid_text")
        #expect(await Self.refusal(Self.fixture(limits: limits), Self.text(String(repeating: "字", count: 10))) == nil)
        #expect(await Self.refusal(Self.fixture(limits: limits), Self.text(String(repeating: "a", count: 11)))?.code == "messages.invalid_text")
        #expect(await Self.refusal(Self.fixture(limits: limits), Self.text(String(repeating: "👩‍👩‍👧", count: 10))) != nil,
                "characters, but never more than 4 bytes a character")
    }

    @Test("a payload larger than maxPayloadBytes is refused as too large")
    func payloadSize() async {
        let limits = DirectMessageLimits(maxPayloadBytes: 20)
        let fits = #"{"k":"\#(String(repeating: "x", count: 12))"}"#
        #expect(fits.utf8.count == 20)
        #expect(await Self.refusal(Self.fixture(limits: limits), Self.payload(fits)) == nil)
        let error = await Self.refusal(Self.fixture(limits: limits), Self.payload(#"{"k":"\#(String(repeating: "x", count: 13))"}"#))
        #expect(error?.code == "messages.payload_too_large" && error?.kind == .payloadTooLarge)
    }

    @Test("exactly one of text and payload")
    func oneContent() async {
        let neither = DirectMessageSubmission(to: "u_bob", text: nil, payload: nil, clientMessageID: "m1")
        let both = DirectMessageSubmission(to: "u_bob", text: "hi", payload: "{}", clientMessageID: "m1")
        #expect(await Self.refusal(Self.fixture(), neither)?.code == "messages.invalid_content")
        #expect(await Self.refusal(Self.fixture(), both)?.code == "messages.invalid_content")
    }

    @Test("refused messages are not stored and do not count against the limit")
    func refusalsAreFree() async {
        let fixture = Self.fixture(limits: DirectMessageLimits(perMinute: 1))
        for _ in 0..<5 { _ = await Self.refusal(fixture, Self.text("")) }
        #expect(fixture.inbox.requests.isEmpty)
        #expect(await Self.refusal(fixture, Self.text("hi")) == nil)
    }

    // MARK: Rate

    @Test("at most perMinute messages a minute per sender; the next minute starts afresh")
    func perMinuteLimit() async {
        let fixture = Self.fixture(limits: DirectMessageLimits(perMinute: 3))
        for index in 0..<3 {
            #expect(await Self.refusal(fixture, Self.text("hi", id: "m\(index)")) == nil)
        }
        let limited = await Self.refusal(fixture, Self.text("hi", id: "m3"))
        #expect(limited?.kind == .rateLimited && limited?.code == "messages.rate_limited")
        #expect(limited?.retryAfterSeconds == 45, "the rest of the minute")
        fixture.clock.advance(40)
        #expect(await Self.refusal(fixture, Self.text("hi", id: "m4"))?.retryAfterSeconds == 5)
        #expect(await Self.refusal(fixture, Self.text("hi", id: "m5"), from: UserID(rawValue: "u_carol")) == nil, "per sender")
        fixture.clock.advance(5)
        #expect(await Self.refusal(fixture, Self.text("hi", id: "m6")) == nil, "a new minute")
        #expect(fixture.inbox.requests.count == 5)
    }

    @Test("with the cluster state away the limit is counted on this node")
    func fallbackCounter() async {
        let fixture = Self.fixture(cluster: { _ in UnreachableClusterState() }, limits: DirectMessageLimits(perMinute: 2))
        #expect(await Self.refusal(fixture, Self.text("hi", id: "a")) == nil)
        #expect(await Self.refusal(fixture, Self.text("hi", id: "b")) == nil)
        #expect(await Self.refusal(fixture, Self.text("hi", id: "c"))?.code == "messages.rate_limited")
        fixture.clock.advance(60)
        #expect(await Self.refusal(fixture, Self.text("hi", id: "d")) == nil)
    }

    @Test("the limit holds over every node sharing the cluster state")
    func sharedCounter() async {
        let clock = MutableClock(Self.start)
        let shared = InProcessClusterState(clock: clock.clock)
        let nodes = (0..<2).map { _ in
            DirectMessageService(inbox: RecordingDirectMessageInbox(), cluster: shared, limits: DirectMessageLimits(perMinute: 3),
                                 clock: clock.clock, logger: TestStorage.logger)
        }
        var accepted = 0
        for index in 0..<6 {
            if (try? await nodes[index % 2].send(from: Self.alice, Self.text("hi", id: "m\(index)"))) != nil { accepted += 1 }
        }
        #expect(accepted == 3)
    }

    // MARK: Request hash

    @Test("the request hash depends on recipient and content, not on the client or message id")
    func requestHash() async throws {
        let fixture = Self.fixture()
        let submissions = [
            Self.text("hi", id: "a"), Self.text("hi", id: "b"),                       // same content
            Self.text("hi!", id: "c"), Self.text("hi", to: "u_carol", id: "d"),     // other text, other recipient
            Self.payload(#"{"t":"hi"}"#, id: "e"), Self.text(#"{"t":"hi"}"#, id: "f"),  // a payload is not its text
            Self.payload(#"{"t":"hi"}"#, to: "u_carol", id: "g"),
        ]
        for submission in submissions {
            _ = try await fixture.service.send(from: Self.alice, submission)
        }
        let hashes = fixture.inbox.requests.map(\.requestHash)
        #expect(hashes.count == 7)
        #expect(hashes[0] == hashes[1])
        #expect(Set(hashes).count == 6)
        #expect(hashes.allSatisfy { $0.count == 64 && $0.allSatisfy(\.isHexDigit) })
        #expect(fixture.inbox.requests[0].messageID != fixture.inbox.requests[1].messageID)
    }
}

/// Keeps each direct-message request and answers with a receipt; anything else throws.
final class RecordingDirectMessageInbox: InboxRepository {
    struct NotHere: Error {}

    private let stored = Mutex<[DirectMessageRequest]>([])

    var requests: [DirectMessageRequest] { stored.withLock { $0 } }

    func storeDirectMessage(_ request: DirectMessageRequest, now: Date) async throws -> DirectMessageReceipt {
        let count = stored.withLock { requests -> Int64 in
            requests.append(request)
            return Int64(requests.count)
        }
        let delivered = InboxMessage(userID: request.recipientID, seq: count, kind: InboxKind.directMessage,
                                     payload: request.payload, createdAt: now)
        let echoed = InboxMessage(userID: request.senderID, seq: count, kind: InboxKind.directMessageSent,
                                  payload: request.payload, createdAt: now)
        return DirectMessageReceipt(messageID: request.messageID, delivered: delivered, echoed: echoed, replayed: false)
    }

    func append(_ drafts: [InboxDraft], now: Date) async throws -> [InboxMessage] { throw NotHere() }
    func messages(of userID: UserID, after since: Int64, limit: Int) async throws -> InboxPage { throw NotHere() }
    func heads(of userIDs: [UserID]) async throws -> [UserID: Int64] { throw NotHere() }
    func acknowledge(userID: UserID, device: String, seq: Int64, now: Date) async throws -> InboxCursor { throw NotHere() }
    func cursors(of userID: UserID) async throws -> [InboxCursor] { throw NotHere() }
    func prune(_ retention: InboxRetention, now: Date) async throws -> Int { throw NotHere() }
    func block(_ blockedID: UserID, by userID: UserID, now: Date) async throws { throw NotHere() }
    func unblock(_ blockedID: UserID, by userID: UserID) async throws { throw NotHere() }
    func blocked(by userID: UserID) async throws -> [UserID] { throw NotHere() }
}

/// A cluster state that cannot be reached (Redis away): every call throws.
final class UnreachableClusterState: ClusterState {
    struct Away: Error {}

    var isShared: Bool { true }
    func publish(_ payload: String, on channel: String) async throws { throw Away() }
    func subscribe(to channels: [String]) -> AsyncStream<ClusterBusEvent> {
        AsyncStream { $0.yield(.interrupted) }
    }
    func increment(_ key: String, by amount: Int64, window: TimeInterval) async throws -> Int64 { throw Away() }
    func setIfAbsent(_ key: String, to value: String, expiresIn: TimeInterval) async throws -> Bool { throw Away() }
    func set(_ key: String, to value: String, expiresIn: TimeInterval) async throws { throw Away() }
    func value(at key: String) async throws -> String? { throw Away() }
    func delete(_ key: String, ifValue value: String) async throws -> Bool { throw Away() }
}
