import NIOCore

/// Runs a task's jobs on one event loop, so code that talks to a connection a lot
/// (pipelines in a loop, a transaction, a query and its rows) runs where the connection
/// lives: writes go out without waking the loop from another thread, and replies resume
/// the task without a thread hop. Redis leases and PostgreSQL reads run their bodies here;
/// a body must therefore never block.
public final class EventLoopTaskExecutor: TaskExecutor {
    public let loop: any EventLoop

    public init(_ loop: any EventLoop) {
        self.loop = loop
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let unowned = UnownedJob(job)
        loop.execute { unowned.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
