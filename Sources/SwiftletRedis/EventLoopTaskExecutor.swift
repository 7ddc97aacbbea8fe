import NIOCore

/// Runs a task's jobs on one event loop, so code that talks to a connection a lot
/// (pipelines in a loop, a transaction) runs where the connection lives: writes go out
/// without waking the loop from another thread, and replies resume the task without a
/// thread hop. `RedisClient.withConnection` runs its body here; a body must therefore
/// never block.
final class EventLoopTaskExecutor: TaskExecutor {
    let loop: any EventLoop

    init(_ loop: any EventLoop) {
        self.loop = loop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let unowned = UnownedJob(job)
        loop.execute { unowned.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
