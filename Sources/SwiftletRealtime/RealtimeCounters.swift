import Synchronization

/// Running counts of what this node's realtime connections did, read by the metrics
/// exposition at scrape time. Atomics: connections on every event loop add to them.
public final class RealtimeCounters: Sendable {
    private let delivered = Atomic<Int>(0)
    private let slowConsumerCloses = Atomic<Int>(0)
    private let exactResumes = Atomic<Int>(0)
    private let resetResumes = Atomic<Int>(0)

    public init() {}

    public struct Totals: Sendable, Equatable {
        /// Inbox and room messages written to clients.
        public let delivered: Int
        public let slowConsumerCloses: Int
        /// Resumes (`since` given) that replayed every missed message.
        public let exactResumes: Int
        /// Resumes too far behind the retained history: the client was told to reload.
        public let resetResumes: Int
    }

    public var totals: Totals {
        Totals(delivered: delivered.load(ordering: .relaxed), slowConsumerCloses: slowConsumerCloses.load(ordering: .relaxed),
               exactResumes: exactResumes.load(ordering: .relaxed), resetResumes: resetResumes.load(ordering: .relaxed))
    }

    func messageDelivered() { delivered.add(1, ordering: .relaxed) }
    func closedSlowConsumer() { slowConsumerCloses.add(1, ordering: .relaxed) }
    func resumed(exact: Bool) {
        if exact { exactResumes.add(1, ordering: .relaxed) } else { resetResumes.add(1, ordering: .relaxed) }
    }
}
