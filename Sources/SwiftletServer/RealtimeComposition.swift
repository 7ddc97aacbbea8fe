import Foundation
import Logging
import ServiceLifecycle
import SwiftletConfig
import SwiftletCore
import SwiftletRealtime

/// The realtime gateway, the inbox fan-out and direct messages, wired from config.
struct RealtimeComposition {
    let registry: RealtimeRegistry
    let fanout: InboxFanout
    let messages: DirectMessageService
    let rooms: RoomService
    let roomPresence: RoomPresence
    /// Who is connected on any node (subscribe messages skip them).
    let userPresence: UserPresence
    let upgrader: RealtimeUpgrader
    let service: RealtimeService

    /// Who is online in a room over every node (`GET /api/v1/rooms/{id}/presence`).
    var presence: @Sendable (RoomID) async -> [UserID] {
        { [roomPresence] in roomPresence.users(in: $0) }
    }

    init(_ config: SwiftletConfiguration, storage: any StorageEngine, cluster: any ClusterState, auth: AuthService,
         revocations: RevocationList, clock: SwiftletClock, logger: Logger,
         decideJoin: @escaping RoomJoinDecider = RoomService.defaultJoinDecider) {
        let settings = Self.settings(config.realtime)
        registry = RealtimeRegistry(settings: settings)
        fanout = InboxFanout(cluster: cluster, inbox: storage.inbox, target: registry, logger: logger)
        storage.inboxAnnouncer.setHandler { [fanout] in fanout.announce($0) }
        messages = DirectMessageService(
            inbox: storage.inbox, cluster: cluster,
            limits: DirectMessageLimits(maxTextCharacters: config.realtime.maxMessageCharacters,
                                        perMinute: config.realtime.messagesPerMinute),
            clock: clock, logger: logger)
        let roomFanout = RoomFanout(cluster: cluster, rooms: storage.rooms, target: registry, logger: logger)
        rooms = RoomService(
            rooms: storage.rooms, messages: messages,
            limits: RoomLimits(historyLimit: config.realtime.roomHistory, maxMembers: config.realtime.roomMaxMembers),
            decideJoin: decideJoin, announce: { roomFanout.announce($0) },
            announceDeparture: { roomFanout.announceDeparture($0, from: $1) }, clock: clock)
        let registry = self.registry
        roomPresence = RoomPresence(
            cluster: cluster, local: { registry.localUsers(in: $0) }, localRooms: { registry.followedRooms }, clock: clock,
            logger: logger)
        registry.setRoomChangeHandler { [roomPresence] in roomPresence.changed($0) }
        userPresence = UserPresence(
            cluster: cluster, localUsers: { registry.connectedUsers }, isLocal: { registry.connectionCount(of: $0) > 0 },
            logger: logger)
        let authentication = auth
        upgrader = RealtimeUpgrader(environment: RealtimeEnvironment(
            verify: { token in
                if let principal = authentication.cachedPrincipal(bearer: token) { return principal }
                return try await authentication.authenticate(bearer: token)
            },
            isRevoked: { principal, now in
                revocations.isRevoked(tokenID: principal.tokenID, sessionID: principal.sessionID, now: now)
            },
            inbox: storage.inbox, messages: messages, rooms: rooms, presence: roomPresence, registry: registry,
            settings: settings, clock: clock, logger: logger))
        service = RealtimeService(
            fanout: fanout, roomFanout: roomFanout, presence: roomPresence,
            // Only subscribe messages read the online marks: without templates, no Redis writes.
            userPresence: config.subscribe.templatesJSON == "[]" ? nil : userPresence, inbox: storage.inbox,
            retention: InboxRetention(maxAge: config.realtime.inboxRetentionSeconds, maxCount: config.realtime.inboxMaxMessages),
            clock: clock, logger: logger)
    }

    static func settings(_ realtime: SwiftletConfiguration.Realtime) -> RealtimeSettings {
        var settings = RealtimeSettings()
        settings.pingInterval = realtime.pingIntervalSeconds
        settings.authTimeout = realtime.authTimeoutSeconds
        settings.tokenGrace = realtime.tokenGraceSeconds
        settings.maxQueuedBytes = realtime.maxQueuedBytes
        settings.maxFrameBytes = realtime.maxFrameBytes
        settings.maxConnectionsPerUser = realtime.maxConnectionsPerUser
        settings.maxConnectionsPerNode = realtime.maxConnectionsPerNode
        return settings
    }
}

/// Runs the inbox and room fan-outs and room presence, and applies the inbox retention every ten minutes (on every
/// node: removing what another node already removed is a no-op).
struct RealtimeService: Service {
    static let pruneInterval: Duration = .seconds(600)

    let fanout: InboxFanout
    let roomFanout: RoomFanout
    let presence: RoomPresence
    /// Marks this node's connected users in the shared state; nil when nothing reads them.
    let userPresence: UserPresence?
    let inbox: any InboxRepository
    let retention: InboxRetention
    let clock: SwiftletClock
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                group.addTask { await fanout.run() }
                group.addTask { await roomFanout.run() }
                group.addTask { await presence.run() }
                if let userPresence { group.addTask { await userPresence.run() } }
                group.addTask {
                    while !Task.isCancelled {
                        do {
                            let removed = try await inbox.prune(retention, now: clock.now)
                            if removed > 0 { logger.info("inbox retention applied", metadata: ["removed": .stringConvertible(removed)]) }
                        } catch {
                            logger.warning("inbox retention failed; retrying later", metadata: ["error": .string(ErrorLog.describe(error))])
                        }
                        do { try await Task.sleep(for: Self.pruneInterval) } catch { return }
                    }
                }
            }
        }
    }
}
