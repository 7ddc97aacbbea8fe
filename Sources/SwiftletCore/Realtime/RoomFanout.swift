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
}

/// Gets every stored room message to every connection following the room, on any node,
/// by the same rules as the inbox (`SequenceFanout`), on `swiftlet:rooms`.
public final class RoomFanout: Sendable {
    public static let channel = "swiftlet:rooms"

    private let target: any RoomDeliveryTarget
    private let fanout: SequenceFanout

    public init(
        cluster: any ClusterState, rooms: any RoomRepository, target: any RoomDeliveryTarget, logger: Logger,
        retryInterval: Duration = .seconds(1), recheckInterval: Duration = .seconds(30)
    ) {
        self.target = target
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

    /// Publishes announcements and applies the other nodes' until cancelled. Call once.
    public func run() async {
        await fanout.run()
    }
}
