import Foundation
import Logging
import SwiftletCore

/// What realtime connections need from the rest of the server, built once by the
/// composition root.
public struct RealtimeEnvironment: Sendable {
    /// Checks an access token (signature, expiry, revocation) the way every HTTP route does.
    public var verify: @Sendable (String) async throws -> Principal
    /// Whether the connection's session or token has been revoked since it was checked.
    public var isRevoked: @Sendable (Principal, Date) -> Bool
    public var inbox: any InboxRepository
    public var messages: DirectMessageService
    public var rooms: RoomService
    public var presence: RoomPresence
    public var registry: RealtimeRegistry
    public var settings: RealtimeSettings
    public var clock: SwiftletClock
    public var logger: Logger

    public init(verify: @escaping @Sendable (String) async throws -> Principal,
                isRevoked: @escaping @Sendable (Principal, Date) -> Bool, inbox: any InboxRepository,
                messages: DirectMessageService, rooms: RoomService, presence: RoomPresence, registry: RealtimeRegistry, settings: RealtimeSettings,
                clock: SwiftletClock, logger: Logger) {
        self.verify = verify
        self.isRevoked = isRevoked
        self.inbox = inbox
        self.messages = messages
        self.rooms = rooms
        self.presence = presence
        self.registry = registry
        self.settings = settings
        self.clock = clock
        self.logger = logger
    }
}
