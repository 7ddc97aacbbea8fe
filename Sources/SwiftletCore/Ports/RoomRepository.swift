import Foundation

/// Storage port for rooms, their members and their bounded history.
///
/// A room's offsets are given out under its row (a row lock on PostgreSQL, the single
/// writer on SQLite), so stored messages are numbered without holes and an offset is
/// visible only once every smaller one is, exactly like a user's inbox.
public protocol RoomRepository: Sendable {
    /// Stores a new room with its creator as owner.
    func create(_ room: Room) async throws -> Room
    func find(_ id: RoomID) async throws -> Room?
    /// Adds a member; false if already one (nothing changes, the role included).
    func addMember(_ userID: UserID, to roomID: RoomID, role: RoomRole, now: Date) async throws -> Bool
    /// False if not a member.
    func removeMember(_ userID: UserID, from roomID: RoomID) async throws -> Bool
    func member(_ userID: UserID, of roomID: RoomID) async throws -> RoomMember?
    /// Members in join order, at most `limit`.
    func members(of roomID: RoomID, limit: Int) async throws -> [RoomMember]
    /// The rooms a user is a member of, newest first, at most `limit`.
    func rooms(of userID: UserID, limit: Int) async throws -> [Room]
    /// Stores a message with the room's next offset, in one transaction: refused with
    /// `rooms.not_found` / `rooms.not_member` (404 / 403); replayed when the sender sent
    /// this client message id before with the same content, a conflict
    /// (`rooms.client_msg_id_conflict`) with other content. Keeps at most `historyLimit`
    /// messages (the oldest go).
    func post(_ post: RoomPost, now: Date, historyLimit: Int) async throws -> RoomPostReceipt
    /// Up to `limit` messages after `offset`, in order (from the oldest kept when older).
    func history(of roomID: RoomID, after offset: Int64, limit: Int) async throws -> RoomHistoryPage
}
