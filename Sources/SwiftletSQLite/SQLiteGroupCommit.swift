import SQLKit
import Synchronization

/// Group commit for self-contained write statements (`performPrepared` of a write shape:
/// an order written by the `order_intake` trigger).
///
/// With `synchronous=FULL` every commit waits for the disk (fsync), and SQLite has one
/// writer: one order per commit makes the disk's flush rate the ceiling on orders. Here
/// the statements that arrive while the writer is busy wait in a queue, and the next batch
/// runs them all in one transaction with one commit.
///
/// Each statement stays all-or-nothing for its own caller: a statement that fails on its
/// own guard or on a unique index is rolled back by SQLite alone (statement-level
/// atomicity) and the batch goes on, so one buyer's refusal never touches another's order.
/// Any other failure (I/O, a full disk) rolls the whole batch back and every caller in it
/// gets that error; no caller hears "done" before the commit that made it so.
///
/// A batch of one runs as a plain statement, without BEGIN and COMMIT: an idle server pays
/// no extra hops. A batch runs in one trip to the writer's thread (`SQLiteWriterStatements`).
final class SQLiteGroupCommit: Sendable {
    struct Entry: Sendable {
        let statement: SQLQueryString
        let done: @Sendable (Result<Void, any Error>) -> Void
    }

    private struct Queue {
        var entries: [Entry] = []
        var draining = false
    }

    /// Most statements in one transaction: bounds how long one commit keeps the writer.
    let maxBatch: Int
    private let queue = Mutex(Queue())
    private let batchCount = Atomic<Int>(0)
    private let statementCount = Atomic<Int>(0)

    /// Batches run and statements run in them so far (for tests and diagnostics).
    var counts: (batches: Int, statements: Int) {
        (batchCount.load(ordering: .relaxed), statementCount.load(ordering: .relaxed))
    }

    init(maxBatch: Int = 128) {
        self.maxBatch = maxBatch
    }

    /// Runs `statement` in the next batch; returns once that batch has committed. `run`
    /// executes a batch on the writer and tells each entry its outcome (the engine's part;
    /// the same for every call).
    func submit(_ statement: SQLQueryString, run: @escaping @Sendable ([Entry]) async -> Void) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let entry = Entry(statement: statement, done: { continuation.resume(with: $0) })
            let startDrainer = queue.withLock { queue -> Bool in
                queue.entries.append(entry)
                if queue.draining { return false }
                queue.draining = true
                return true
            }
            if startDrainer {
                Task { await self.drain(run) }
            }
        }
    }

    /// Runs batches until the queue is empty. One drainer at a time.
    private func drain(_ run: @Sendable ([Entry]) async -> Void) async {
        while true {
            let batch = queue.withLock { queue -> [Entry] in
                guard !queue.entries.isEmpty else {
                    queue.draining = false
                    return []
                }
                let count = min(maxBatch, queue.entries.count)
                let batch = Array(queue.entries.prefix(count))
                queue.entries.removeFirst(count)
                return batch
            }
            if batch.isEmpty { return }
            batchCount.add(1, ordering: .relaxed)
            statementCount.add(batch.count, ordering: .relaxed)
            await run(batch)
        }
    }
}
