import SwiftletCore

/// A room this connection follows: its position (offset within `epoch`).
struct RoomSubscription: Sendable {
    /// The epoch the client's offset belongs to; nil until known (then taken from the
    /// room's first page).
    var epoch: String?
    var cursor: SequenceCursor<RoomMessage>
    /// The join was confirmed and the room is followed live.
    var following = false
}

/// Rooms on a connection: the same exact-resume rule as the inbox (`SequenceCursor`),
/// one cursor per followed room, plus the epoch check (a position from another epoch is
/// reset, never continued).
extension RealtimeConnectionState {
    mutating func join(_ room: String, offset: Int64, epoch: String?) -> [Action] {
        let id = RoomID(rawValue: room)
        guard rooms[id] == nil else {
            return [.send(.roomError(seq: delivered, room: id, code: "realtime.already_following",
                                     message: "This connection already follows the room.", clientMessageID: nil))]
        }
        guard rooms.count < settings.maxRoomsPerConnection else {
            return [.send(.roomError(seq: delivered, room: id, code: "realtime.too_many_rooms",
                                     message: "A connection follows at most \(settings.maxRoomsPerConnection) rooms.",
                                     clientMessageID: nil))]
        }
        rooms[id] = RoomSubscription(
            epoch: epoch, cursor: SequenceCursor(after: offset, number: \.offset, size: { $0.payload.utf8.count + Self.frameOverhead }))
        return [.joinRoom(id)]
    }

    mutating func leave(_ room: String, membership: Bool) -> [Action] {
        let id = RoomID(rawValue: room)
        let wasFollowing = rooms.removeValue(forKey: id)?.following ?? false
        return (wasFollowing ? [.unfollowRoom(id)] : []) + (membership ? [.leaveRoom(id)] : []) + [.send(.left(seq: delivered, room: id))]
    }

    /// The user left the room elsewhere (REST, another socket, another node): stop
    /// following it and say so.
    public mutating func roomDeparted(_ room: RoomID) -> [Action] {
        guard phase == .open, let subscription = rooms.removeValue(forKey: room) else { return [] }
        return (subscription.following ? [.unfollowRoom(room)] : []) + [.send(.left(seq: delivered, room: room))]
    }

    /// The join went through: follow the room live first, then read from the position,
    /// so nothing stored in between is missed.
    public mutating func roomJoined(_ room: Room, online: Int) -> [Action] {
        guard phase == .open, var subscription = rooms[room.id], !subscription.following else { return [] }
        subscription.following = true
        let start = subscription.cursor.start()
        rooms[room.id] = subscription
        return [.followRoom(room.id),
                .send(.joined(seq: delivered, room: room.id, epoch: room.epoch, head: room.lastOffset, online: online))]
            + roomActions(room.id, start)
    }

    /// The join was refused, or the room can no longer be read (left elsewhere, deleted):
    /// the connection stops following it and says why.
    public mutating func roomJoinFailed(_ room: RoomID, _ error: SwiftletError) -> [Action] {
        guard phase == .open, let subscription = rooms.removeValue(forKey: room) else { return [] }
        return (subscription.following ? [.unfollowRoom(room)] : [])
            + [.send(.roomError(seq: delivered, room: room, code: error.code, message: error.message, clientMessageID: nil))]
    }

    public mutating func roomLive(_ messages: [RoomMessage]) -> [Action] {
        guard phase == .open else { return [] }
        var actions: [Action] = []
        for (room, messages) in Dictionary(grouping: messages, by: \.roomID) {
            guard var subscription = rooms[room], subscription.following else { continue }
            let steps = subscription.cursor.live(messages.sorted { $0.offset < $1.offset })
            rooms[room] = subscription
            actions += roomActions(room, steps)
        }
        return actions
    }

    public mutating func roomHeadMoved(_ room: RoomID, to offset: Int64) -> [Action] {
        guard phase == .open, var subscription = rooms[room], subscription.following else { return [] }
        let steps = subscription.cursor.headMoved(to: offset)
        rooms[room] = subscription
        return roomActions(room, steps)
    }

    public mutating func roomFetched(_ room: RoomID, _ page: RoomHistoryPage, queuedBytes: Int = 0) -> [Action] {
        guard phase == .open, var subscription = rooms[room] else { return [] }
        let isReset = page.isReset(offset: subscription.cursor.delivered, epoch: subscription.epoch)
        subscription.epoch = page.epoch
        let steps = subscription.cursor.fetched(
            .init(items: page.messages, head: page.head, oldest: page.oldest, isReset: isReset),
            queuedBytes: queuedBytes, maxQueuedBytes: settings.maxQueuedBytes)
        rooms[room] = subscription
        return roomActions(room, steps)
    }

    public func roomPosted(_ room: RoomID, _ receipt: RoomPostReceipt, clientMessageID: String) -> [Action] {
        guard phase == .open else { return [] }
        return [.send(.roomSent(seq: delivered, room: room, clientMessageID: clientMessageID, offset: receipt.message.offset))]
    }

    public func roomRequestFailed(_ room: RoomID, _ error: SwiftletError, clientMessageID: String?) -> [Action] {
        guard phase == .open else { return [] }
        return [.send(.roomError(seq: delivered, room: room, code: error.code, message: error.message, clientMessageID: clientMessageID))]
    }

    func roomActions(_ room: RoomID, _ steps: [SequenceCursor<RoomMessage>.Step]) -> [Action] {
        let epoch = rooms[room]?.epoch ?? ""
        return steps.map { step in
            switch step {
            case .send(let message): .send(.roomMessage(seq: delivered, epoch: epoch, message))
            case .reset(let oldest, let requested):
                .send(.roomReset(seq: delivered, room: room, epoch: epoch, oldest: oldest, requested: requested))
            case .fetch(let after): .fetchRoom(room, after: after)
            case .caughtUp: .send(.roomCaughtUp(seq: delivered, room: room, offset: rooms[room]?.cursor.delivered ?? 0))
            }
        }
    }
}
