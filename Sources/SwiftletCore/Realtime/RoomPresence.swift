import Foundation
import Logging
import Synchronization

/// Who is online in each room, over every node, counting a user once however many
/// devices and nodes they are connected through.
///
/// Each node knows its own connections. It tells the others its users of a room on
/// `swiftlet:presence` (`<node> <room> <user>,<user>,…`): within `debounce` of a change,
/// and for every room again every `refreshInterval` and on every (re)subscription. What
/// a node said about a room counts for `staleAfter`; a node that died or lost the bus
/// drops out of presence after at most that long. With one node (in-process bus)
/// presence is the node's own.
public final class RoomPresence: Sendable {
    public static let channel = "swiftlet:presence"

    private struct Heard {
        var users: Set<UserID>
        var at: Date
    }

    private let cluster: any ClusterState
    private let local: @Sendable (RoomID) -> Set<UserID>
    private let localRooms: @Sendable () -> [RoomID]
    private let clock: SwiftletClock
    private let logger: Logger
    private let refreshInterval: TimeInterval
    private let staleAfter: TimeInterval
    private let debounce: Duration
    private let nodeID = RandomID.base32(byteCount: 8)
    private let dirty = Mutex<Set<RoomID>>([])
    private let remote = Mutex<[RoomID: [String: Heard]]>([:])

    public init(
        cluster: any ClusterState, local: @escaping @Sendable (RoomID) -> Set<UserID>,
        localRooms: @escaping @Sendable () -> [RoomID], clock: SwiftletClock, logger: Logger,
        refreshInterval: TimeInterval = 25, staleAfter: TimeInterval = 60, debounce: Duration = .milliseconds(200)
    ) {
        self.cluster = cluster
        self.local = local
        self.localRooms = localRooms
        self.clock = clock
        self.logger = logger
        self.refreshInterval = refreshInterval
        self.staleAfter = staleAfter
        self.debounce = debounce
    }

    /// This node's users of `room` changed (a connection followed or left it).
    public func changed(_ room: RoomID) {
        _ = dirty.withLock { $0.insert(room) }
    }

    /// The users online in `room` on any node.
    public func users(in room: RoomID) -> [UserID] {
        let now = clock.now
        var users = local(room)
        remote.withLock { remote in
            for heard in (remote[room] ?? [:]).values where now.timeIntervalSince(heard.at) < staleAfter {
                users.formUnion(heard.users)
            }
        }
        return users.sorted { $0.rawValue < $1.rawValue }
    }

    /// Publishes this node's presence and applies the others' until cancelled. Call once.
    public func run() async {
        await withDiscardingTaskGroup { group in
            group.addTask { await self.publishLoop() }
            group.addTask {
                await ClusterBusListener.listen(to: [Self.channel], on: self.cluster,
                                                pause: { try await Task.sleep(for: .seconds(1)) }) { event in
                    switch event {
                    case .message(_, let payload): self.apply(payload)
                    case .subscribed: self.markAllLocalRooms()
                    case .interrupted: break
                    }
                }
            }
        }
    }

    private func markAllLocalRooms() {
        let rooms = localRooms()
        dirty.withLock { $0.formUnion(rooms) }
    }

    private func publishLoop() async {
        var lastRefresh = clock.now
        while !Task.isCancelled {
            do { try await Task.sleep(for: debounce) } catch { return }
            if clock.now.timeIntervalSince(lastRefresh) >= refreshInterval {
                lastRefresh = clock.now
                markAllLocalRooms()
            }
            let rooms = dirty.withLock { dirty in
                defer { dirty.removeAll() }
                return dirty
            }
            for room in rooms {
                let users = local(room).map(\.rawValue).sorted().joined(separator: ",")
                do {
                    try await cluster.publish("\(nodeID) \(room.rawValue) \(users)", on: Self.channel)
                } catch {
                    changed(room)
                    logger.warning("room presence could not be published; retrying", metadata: ["error": .string(ErrorLog.describe(error))])
                    break
                }
            }
        }
    }

    private func apply(_ payload: String) {
        let parts = payload.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count >= 2, !parts[0].isEmpty, !parts[1].isEmpty else {
            logger.warning("ignored a malformed presence message", metadata: ["bytes": .stringConvertible(payload.utf8.count)])
            return
        }
        let node = String(parts[0])
        guard node != nodeID else { return }
        let room = RoomID(rawValue: String(parts[1]))
        let users = Set((parts.count > 2 ? parts[2] : "").split(separator: ",").map { UserID(rawValue: String($0)) })
        let now = clock.now
        remote.withLock { remote in
            if users.isEmpty {
                remote[room]?.removeValue(forKey: node)
            } else {
                remote[room, default: [:]][node] = Heard(users: users, at: now)
            }
            if remote[room]?.isEmpty == true { remote.removeValue(forKey: room) }
        }
    }
}
