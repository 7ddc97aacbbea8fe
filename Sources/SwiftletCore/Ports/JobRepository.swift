import Foundation

/// Durable background work stored in the database, so it survives restarts and runs
/// once even when several nodes poll: a job is leased by one worker at a time.
public struct JobRequest: Sendable, Equatable {
    public var kind: String
    /// Unique per kind: enqueueing the same key again is a no-op.
    public var key: String
    public var payload: String
    public var runAt: Date
    public init(kind: String, key: String, payload: String, runAt: Date) {
        self.kind = kind
        self.key = key
        self.payload = payload
        self.runAt = runAt
    }
}

public struct ClaimedJob: Sendable, Equatable {
    public var id: String
    public var kind: String
    public var key: String
    public var payload: String
    /// 1 on the first run.
    public var attempt: Int
    public init(id: String, kind: String, key: String, payload: String, attempt: Int) {
        self.id = id
        self.kind = kind
        self.key = key
        self.payload = payload
        self.attempt = attempt
    }
}

public protocol JobRepository: Sendable {
    func enqueue(_ job: JobRequest) async throws
    /// Leases up to `limit` due jobs to `worker` until `leaseUntil`; a job whose lease
    /// expired (its worker died) is due again.
    func claim(worker: String, now: Date, leaseUntil: Date, limit: Int) async throws -> [ClaimedJob]
    /// Moves the lease of a job `worker` still holds to `until`, in one conditional write;
    /// false when the lease is no longer `worker`'s (another node claimed the job after it
    /// lapsed, or it is finished), so the caller must stop working on it.
    func extendLease(_ id: String, worker: String, until: Date, now: Date) async throws -> Bool
    func complete(_ id: String, worker: String) async throws
    /// Releases the job to run again at `at`. `failed` says whether this run counts as a
    /// failed attempt; "not finished yet" (a buyer still paying) does not.
    func retry(_ id: String, worker: String, at: Date, error: String?, failed: Bool) async throws
    /// Gives up on a job (kept for inspection).
    func fail(_ id: String, worker: String, error: String) async throws
    /// Jobs not yet done, per kind (for health output and tests).
    func pendingCount(kind: String) async throws -> Int
    /// Deletes jobs that finished (done) before `before`; returns how many.
    func pruneFinished(before: Date) async throws -> Int
}
