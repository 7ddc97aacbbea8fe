import Foundation
import Logging

/// Where the fan-out hands messages for the devices connected to this node (the
/// realtime gateway's connection registry).
public protocol InboxDeliveryTarget: Sendable {
    /// Messages just stored, for the local connections of their users.
    func deliver(_ messages: [InboxMessage])
    /// A user's inbox reached `seq` (told by another node, or found by a re-check):
    /// connections behind it read what they miss from the database.
    func headMoved(of userID: UserID, to seq: Int64)
    /// The users with at least one connection on this node.
    var connectedUsers: [UserID] { get }
}

/// Gets every stored inbox message to every device of its user, on any node: messages
/// stored here go to local connections at once, and each user's new head goes to the
/// other nodes on `swiftlet:inbox` (`SequenceFanout` states the rules and the bounds).
public final class InboxFanout: Sendable {
    public static let channel = "swiftlet:inbox"

    private let target: any InboxDeliveryTarget
    private let fanout: SequenceFanout

    var nodeID: String { fanout.nodeID }

    public init(
        cluster: any ClusterState, inbox: any InboxRepository, target: any InboxDeliveryTarget, logger: Logger,
        retryInterval: Duration = .seconds(1), recheckInterval: Duration = .seconds(30)
    ) {
        self.target = target
        fanout = SequenceFanout(
            channel: Self.channel, cluster: cluster,
            target: .init(
                heads: { keys in
                    let heads = try await inbox.heads(of: keys.map(UserID.init(rawValue:)))
                    return Dictionary(uniqueKeysWithValues: heads.map { ($0.key.rawValue, $0.value) })
                },
                headMoved: { target.headMoved(of: UserID(rawValue: $0), to: $1) },
                followed: { target.connectedUsers.map(\.rawValue) }),
            logger: logger, retryInterval: retryInterval, recheckInterval: recheckInterval)
    }

    /// Called right after the transaction that stored `messages` committed.
    public func announce(_ messages: [InboxMessage]) {
        target.deliver(messages)
        var heads: [UserID: Int64] = [:]
        for message in messages {
            heads[message.userID] = max(heads[message.userID] ?? 0, message.seq)
        }
        for (user, seq) in heads {
            fanout.announce(user.rawValue, head: seq)
        }
    }

    /// Publishes announcements and applies the other nodes' until cancelled. Call once.
    public func run() async {
        await fanout.run()
    }

    /// Reads the heads of every locally connected user and tells connections behind them.
    func recheck() async {
        await fanout.recheck()
    }
}
