import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import SwiftletCore
import SwiftletTransport

/// The inbox, direct messages and block lists over REST under `/api/v1`, for clients
/// without a socket (and for reading history): the same repository and the same
/// `DirectMessageService` the realtime gateway uses, so a message sent either way is
/// checked, limited and stored alike. `GET /api/v1/realtime` itself is the gateway's;
/// the transport switches real upgrades before the router, which only answers plain GETs.
public struct RealtimeRoutes: Sendable {
    /// Where the gateway offers its WebSocket upgrade.
    public static let upgradePath = "/api/v1/realtime"
    static let defaultLimit = 100
    static let maxLimit = 500

    let inbox: any InboxRepository
    let messages: DirectMessageService
    let clock: SwiftletClock

    public init(inbox: any InboxRepository, messages: DirectMessageService, clock: SwiftletClock) {
        self.inbox = inbox
        self.messages = messages
        self.clock = clock
    }

    public func register(buyer api: RouterGroup<SwiftletRequestContext>, router: Router<SwiftletRequestContext>) {
        api.get("/inbox") { request, context -> Response in
            let userID = try context.requirePrincipal().userID
            let query = request.uri.queryParameters
            let since = try Self.since(query)
            let page = try await inbox.messages(of: userID, after: since, limit: try Self.limit(query))
            let cursors = try await inbox.cursors(of: userID)
            return InlineResponse.json(InboxPageJSON.render(page, since: since, cursors: cursors)).response
        }
        api.post("/inbox/ack") { request, context -> InboxCursorDTO in
            let userID = try context.requirePrincipal().userID
            let body = try await request.decodeJSON(InboxAckRequest.self, context: context)
            guard Self.isIdentifier(body.device) else {
                throw SwiftletError.invalid("inbox.invalid_device", "`device` must be 1–64 letters, digits, `-`, `_` or `.`.")
            }
            guard body.seq >= 0 else {
                throw SwiftletError.invalid("inbox.invalid_seq", "`seq` must be a sequence number (0 or more).")
            }
            let cursor = try await inbox.acknowledge(userID: userID, device: body.device, seq: body.seq, now: clock.now)
            let head = try await inbox.heads(of: [userID])[userID] ?? 0
            return InboxCursorDTO(cursor, unread: InboxUnread.count(head: head, cursors: try await inbox.cursors(of: userID)))
        }

        api.post("/messages") { request, context -> EditedResponse<MessageReceiptDTO> in
            let principal = try context.requirePrincipal()
            var request = request
            let buffer = try await request.collectBody(upTo: context.maxUploadSize)
            let body = try await request.decodeJSON(SendMessageRequest.self, context: context)
            let receipt = try await messages.send(from: principal.userID, DirectMessageSubmission(
                to: body.to, text: body.text, payload: try Self.payloadText(buffer), clientMessageID: body.clientMsgId))
            if receipt.replayed {
                return EditedResponse(status: .ok, headers: [.idempotentReplayed: "true"], response: MessageReceiptDTO(receipt))
            }
            return EditedResponse(status: .created, response: MessageReceiptDTO(receipt))
        }

        api.get("/blocks") { _, context -> BlockListDTO in
            BlockListDTO(blocked: try await inbox.blocked(by: try context.requirePrincipal().userID).map(\.rawValue))
        }
        api.post("/blocks") { request, context -> HTTPResponse.Status in
            let userID = try context.requirePrincipal().userID
            let blocked = try Self.blockTarget(try await request.decodeJSON(BlockRequest.self, context: context).userId)
            guard blocked != userID else {
                throw SwiftletError.invalid("blocks.self", "You cannot block yourself.")
            }
            try await inbox.block(blocked, by: userID, now: clock.now)
            return .noContent
        }
        api.delete("/blocks/{userId}") { _, context -> HTTPResponse.Status in
            let userID = try context.requirePrincipal().userID
            try await inbox.unblock(try Self.blockTarget(try context.parameters.require("userId")), by: userID)
            return .noContent
        }

        // Outside the bearer group: whatever a plain GET carries, it is told to upgrade.
        router.get(RouterPath(Self.upgradePath)) { _, context -> Response in
            Self.upgradeRequired(requestID: context.requestID)
        }
    }

    /// 426 in the one error shape. No `SwiftletError` kind maps to 426 (it is a transport
    /// matter, not a domain outcome), so the answer is rendered here.
    static func upgradeRequired(requestID: String) -> Response {
        ErrorResponse.response(
            ErrorResponse.Rendered(
                status: .upgradeRequired, code: "realtime.upgrade_required",
                message: "This endpoint speaks WebSocket: send `Upgrade: websocket` and `Connection: Upgrade`.",
                isUnexpected: false, headers: [.upgrade: "websocket"]),
            requestID: requestID)
    }

    // MARK: Input

    static func since(_ query: Parameters) throws -> Int64 {
        guard let text = query.get("since") else { return 0 }
        guard let since = Int64(text), since >= 0 else {
            throw SwiftletError.invalid("inbox.invalid_since", "since must be a sequence number (0 or more).")
        }
        return since
    }

    static func limit(_ query: Parameters) throws -> Int {
        guard let text = query.get("limit") else { return defaultLimit }
        guard let limit = Int(text), (1...maxLimit).contains(limit) else {
            throw SwiftletError.invalid("request.invalid_limit", "limit must be an integer from 1 to \(maxLimit).")
        }
        return limit
    }

    /// The same rule as user ids, message recipients and socket devices.
    static func isIdentifier(_ text: String) -> Bool {
        (1...64).contains(text.utf8.count) && text.utf8.allSatisfy(RandomID.isIdentifierByte)
    }

    static func blockTarget(_ text: String) throws -> UserID {
        guard isIdentifier(text) else {
            throw SwiftletError.invalid("blocks.invalid_user", "`userId` must be a user id.")
        }
        return UserID(rawValue: text)
    }

    /// The body's `payload` as JSON object text: nil when absent, 400 when it is anything
    /// but an object. Keys are sorted so the same object always gives the same text, and
    /// a retry sent to another node (another dictionary order) is still the same message.
    static func payloadText(_ body: ByteBuffer) throws -> String? {
        let invalid = SwiftletError.invalid("messages.invalid_content", "`payload` must be a JSON object.")
        guard let object = try? JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any] else {
            // The typed decoding of the same body succeeded, so it is an object this parser refuses.
            throw invalid
        }
        guard let value = object["payload"] else { return nil }
        guard value is [String: Any], let data = try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys]) else {
            throw invalid
        }
        return String(decoding: data, as: UTF8.self)
    }
}
