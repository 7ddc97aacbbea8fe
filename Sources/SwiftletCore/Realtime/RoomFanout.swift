import Foundation
import Logging

/// Where the room fan-out hands messages for connections on this node.
public protocol RoomDeliveryTarget: Sendable {
    /// Messages just stored, for the local connections following their rooms.
    func deliver(_ messages: [RoomMessage])
    /// A room reached `offset` (told by another node, or found by a re-check).
    func roomHeadMoved(_ room: RoomID, to offset: Int64)
    /// Rooms followed by at least one connection on this node.
    var followedRooms: [RoomID] { get }
    /// `user` is no longer a member of `room`: their connections stop following it.
    func departed(_ user: UserID, from room: RoomID)
}

/// Gets every stored room message to every connection following the room, on any node,
/// by the same rules as the inbox (`SequenceFanout`), on `swiftlet:rooms`.
///
/// A member who leaves (over REST, or on one of their sockets) stops receiving on every
/// connection: on this node at once, on the others when `swiftlet:room-departures`
/// reaches them. That message is at most once like every bus message; a node that misses
/// it still refuses the connection's next read of the room (`rooms.not_member`), which
/// then stops following it.
public final class RoomFanout: Sendable {
    public static let channel = "swiftlet:rooms"
    public static let departuresChannel = "swiftlet:room-departures"

    private let target: any RoomDeliveryTarget
    private let fanout: SequenceFanout
    private let cluster: any ClusterState
    private let departures: ClusterOutbox
    private let logger: Logger

    public init(
        cluster: any ClusterState, rooms: any RoomRepository, target: any RoomDeliveryTarget, logger: Logger,
        retryInterval: Duration = .seconds(1), recheckInterval: Duration = .seconds(30)
    ) {
        self.target = target
        self.cluster = cluster
        self.logger = logger
        departures = ClusterOutbox(cluster: cluster, channel: Self.departuresChannel, capacity: SequenceFanout.outboxCapacity,
                                   pause: { try await Task.sleep(for: retryInterval) }, logger: logger)
        fanout = SequenceFanout(
            channel: Self.channel, cluster: cluster,
            target: .init(
                heads: { keys in
                    var heads: [String: Int64] = [:]
                    for key in keys {
                        heads[key] = try await rooms.find(RoomID(rawValue: key))?.lastOffset
                    }
                    return heads
                },
                headMoved: { target.roomHeadMoved(RoomID(rawValue: $0), to: $1) },
                followed: { target.followedRooms.map(\.rawValue) }),
            logger: logger, retryInterval: retryInterval, recheckInterval: recheckInterval)
    }

    /// Called right after the transaction that stored `message` committed.
    public func announce(_ message: RoomMessage) {
        target.deliver([message])
        fanout.announce(message.roomID.rawValue, head: message.offset)
    }

    /// `user` left `room`: every connection of theirs stops following it.
    public func announceDeparture(_ user: UserID, from room: RoomID) {
        target.departed(user, from: room)
        departures.enqueue("\(fanout.nodeID) \(room.rawValue) \(user.rawValue)")
    }

    /// Publishes announcements and applies the other nodes' until cancelled. Call once.
    public func run() async {
        await withDiscardingTaskGroup { group in
            group.addTask { await self.fanout.run() }
            group.addTask { await self.departures.run() }
            group.addTask {
                await ClusterBusListener.listen(to: [Self.departuresChannel], on: self.cluster,
                                                pause: { try await Task.sleep(for: .seconds(1)) }) { event in
                    guard case .message(_, let payload) = event else { return }
                    let parts = payload.split(separator: " ")
                    guard parts.count == 3 else {
                        self.logger.warning("ignored a malformed room departure", metadata: ["bytes": .stringConvertible(payload.utf8.count)])
                        return
                    }
                    guard parts[0] != self.fanout.nodeID else { return }
                    self.target.departed(UserID(rawValue: String(parts[2])), from: RoomID(rawValue: String(parts[1])))
                }
            }
        }
    }
}
