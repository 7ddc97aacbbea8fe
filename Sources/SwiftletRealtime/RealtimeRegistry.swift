import NIOCore
import Synchronization
import SwiftletCore

/// The realtime connections of this node by user: the fan-out's delivery target and the
/// keeper of the per-user and per-node connection limits.
public final class RealtimeRegistry: InboxDeliveryTarget, RoomDeliveryTarget {
    private struct Follower {
        let handle: RealtimeConnectionHandle
        let user: UserID
    }

    private struct State {
        /// Connections following each room.
        var rooms: [RoomID: [ObjectIdentifier: Follower]] = [:]
        var users: [UserID: [ObjectIdentifier: RealtimeConnectionHandle]] = [:]
        /// Connections per user, counted from the upgrade's decision (before the handle
        /// exists), so concurrent upgrades cannot overshoot the limit.
        var perUser: [UserID: Int] = [:]
        /// Connections admitted (upgraded, authenticated or not).
        var admitted = 0
    }

    private let state = Mutex(State())
    private let roomChanged = Mutex<(@Sendable (RoomID) -> Void)?>(nil)
    let settings: RealtimeSettings

    /// What this node's connections did, for metrics.
    public let counters = RealtimeCounters()

    public init(settings: RealtimeSettings) {
        self.settings = settings
    }

    /// Connections open on this node.
    public var connectionCount: Int { state.withLock { $0.admitted } }

    public func connectionCount(of user: UserID) -> Int {
        state.withLock { $0.perUser[user] ?? 0 }
    }

    /// Takes a node slot for a new connection; false when the node is full.
    func admit() -> Bool {
        state.withLock { state in
            guard state.admitted < settings.maxConnectionsPerNode else { return false }
            state.admitted += 1
            return true
        }
    }

    func release() {
        state.withLock { $0.admitted -= 1 }
    }

    /// Counts a connection of `user`; false past the per-user limit.
    func reserve(_ user: UserID) -> Bool {
        state.withLock { state in
            let count = state.perUser[user] ?? 0
            guard count < settings.maxConnectionsPerUser else { return false }
            state.perUser[user] = count + 1
            return true
        }
    }

    /// Gives back a reservation whose connection never opened.
    func cancelReservation(_ user: UserID) {
        state.withLock { Self.decrement(&$0, user) }
    }

    /// Files a reserved connection under its user, for delivery.
    func attach(_ handle: RealtimeConnectionHandle, as user: UserID) {
        state.withLock { $0.users[user, default: [:]][handle.id] = handle }
    }

    /// Removes the connection and its reservation.
    func detach(_ handle: RealtimeConnectionHandle, as user: UserID) {
        state.withLock { state in
            state.users[user]?.removeValue(forKey: handle.id)
            if state.users[user]?.isEmpty == true { state.users.removeValue(forKey: user) }
            Self.decrement(&state, user)
        }
    }

    private static func decrement(_ state: inout State, _ user: UserID) {
        let count = (state.perUser[user] ?? 1) - 1
        state.perUser[user] = count > 0 ? count : nil
    }

    private func handles(of user: UserID) -> [RealtimeConnectionHandle] {
        state.withLock { $0.users[user].map { Array($0.values) } ?? [] }
    }

    public func deliver(_ messages: [InboxMessage]) {
        var byUser: [UserID: [InboxMessage]] = [:]
        for message in messages {
            byUser[message.userID, default: []].append(message)
        }
        for (user, messages) in byUser {
            for handle in handles(of: user) {
                handle.live(messages)
            }
        }
    }

    public func headMoved(of userID: UserID, to seq: Int64) {
        for handle in handles(of: userID) {
            handle.headMoved(to: seq)
        }
    }

    public var connectedUsers: [UserID] {
        state.withLock { Array($0.users.keys) }
    }

    // MARK: Rooms

    /// Called when a room's local followers change (the presence publisher).
    public func setRoomChangeHandler(_ handler: @escaping @Sendable (RoomID) -> Void) {
        roomChanged.withLock { $0 = handler }
    }

    func follow(_ room: RoomID, _ handle: RealtimeConnectionHandle, as user: UserID) {
        state.withLock { $0.rooms[room, default: [:]][handle.id] = Follower(handle: handle, user: user) }
        roomChanged.withLock { $0 }?(room)
    }

    func unfollow(_ room: RoomID, _ handle: RealtimeConnectionHandle) {
        state.withLock { state in
            state.rooms[room]?.removeValue(forKey: handle.id)
            if state.rooms[room]?.isEmpty == true { state.rooms.removeValue(forKey: room) }
        }
        roomChanged.withLock { $0 }?(room)
    }

    /// The users following `room` on this node, each once.
    public func localUsers(in room: RoomID) -> Set<UserID> {
        state.withLock { Set(($0.rooms[room] ?? [:]).values.map(\.user)) }
    }

    public func deliver(_ messages: [RoomMessage]) {
        for (room, messages) in Dictionary(grouping: messages, by: \.roomID) {
            let followers = followers(of: room)
            for follower in followers {
                follower.handle.roomLive(messages)
            }
        }
    }

    public func roomHeadMoved(_ room: RoomID, to offset: Int64) {
        let followers = followers(of: room)
        for follower in followers {
            follower.handle.roomHeadMoved(room, to: offset)
        }
    }

    public func departed(_ user: UserID, from room: RoomID) {
        let followers = followers(of: room)
        for follower in followers where follower.user == user {
            follower.handle.roomDeparted(room)
        }
    }

    private func followers(of room: RoomID) -> [Follower] {
        state.withLock { $0.rooms[room].map { Array($0.values) } ?? [] }
    }

    public var followedRooms: [RoomID] {
        state.withLock { Array($0.rooms.keys) }
    }

    /// Every authenticated connection (for a shutdown).
    var allHandles: [RealtimeConnectionHandle] {
        state.withLock { $0.users.values.flatMap(\.values) }
    }
}

/// How the registry reaches one connection: on its event loop, where its handler lives.
final class RealtimeConnectionHandle: Sendable {
    let id: ObjectIdentifier
    private let handler: NIOLoopBound<RealtimeSocketHandler>

    init(_ handler: RealtimeSocketHandler, eventLoop: any EventLoop) {
        self.id = ObjectIdentifier(handler)
        self.handler = NIOLoopBound(handler, eventLoop: eventLoop)
    }

    func live(_ messages: [InboxMessage]) {
        let handler = self.handler
        handler.eventLoop.execute { handler.value.live(messages) }
    }

    func headMoved(to seq: Int64) {
        let handler = self.handler
        handler.eventLoop.execute { handler.value.headMoved(to: seq) }
    }

    func roomLive(_ messages: [RoomMessage]) {
        let handler = self.handler
        handler.eventLoop.execute { handler.value.roomLive(messages) }
    }

    func roomHeadMoved(_ room: RoomID, to offset: Int64) {
        let handler = self.handler
        handler.eventLoop.execute { handler.value.roomHeadMoved(room, to: offset) }
    }

    func roomDeparted(_ room: RoomID) {
        let handler = self.handler
        handler.eventLoop.execute { handler.value.roomDeparted(room) }
    }

    func close(_ reason: RealtimeClose) {
        let handler = self.handler
        handler.eventLoop.execute { handler.value.close(reason) }
    }
}
