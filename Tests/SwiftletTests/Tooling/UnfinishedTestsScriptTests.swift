import Foundation
import Testing

/// `scripts/unfinished_tests.py` names the tests a hung run started and never finished, so
/// the test command's log says which test to look at when a run outlives its time limit.
@Suite("The hung-run report of the test command")
struct UnfinishedTestsScriptTests {
    @Test("names exactly the started tests with no end, also when a name says passed or failed")
    func namesTheUnfinishedTests() async throws {
        let result = try await Self.runScript("unfinished_tests.py", on: """
            ◇ Test run started.
            ◇ Suite "Storage" started.
            ◇ Test "an error is passed on and never kept" started.
            ◇ Test "a cut database: orders answer 503" started.
            ◇ Test "failed rollbacks reopen the writer" started.
            ◇ Test rangeOf(_:expected:) started.
            ◇ Test case passing 1 argument text → "::1" to rangeOf(_:expected:) started.
            ◇ Test "skipped on this machine" started.
            ✔ Test "an error is passed on and never kept" passed after 5.871 seconds.
            ✘ Test "failed rollbacks reopen the writer" failed after 2.000 seconds with 1 issue.
            ✔ Test rangeOf(_:expected:) with 50 test cases passed after 0.010 seconds.
            ➜ Test "skipped on this machine" skipped.
            2026-12-01T18:56:38+0000 warning swiftlet-test: The database cannot be reached;
            """)
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardOutput == "  still running: \"a cut database: orders answer 503\"\n")
    }

    @Test("the thread stacks of a hung run are counted per distinct stack, most frequent first, without the C library's wait frames")
    func condensesTheThreadStacks() async throws {
        let result = try await Self.runScript("thread_stacks.py", on: """
            Thread 3 (Thread 0x7f01 (LWP 12) "NIO-SGLTN-0-#1"):
            #0  0x00007f in epoll_wait (epfd=4) at ../sysdeps/unix/sysv/linux/epoll_wait.c:30
            #1  0x00007f in Epoll.epoll_wait(epfd:events:maxevents:timeout:) ()
            #2  0x00007f in Selector.whenReady<A>(strategy:onLoopBegin:_:) ()
            Thread 2 (Thread 0x7f02 (LWP 11) "com.apple.root.default-qos"):
            #0  __futex_abstimed_wait_common64 (private=0) at ./nptl/futex-internal.c:57
            #1  __GI___futex_abstimed_wait_cancelable64 () at ./nptl/futex-internal.c:139
            #2  0x00007f in ___pthread_cond_wait (cond=0x1) at ./nptl/pthread_cond_wait.c:618
            #3  0x00007f in Process.waitUntilExit() ()
            #4  0x00007f in closure #1 in TestRedisServer.kill() ()
            Thread 1 (Thread 0x7f03 (LWP 10) "com.apple.root.default-qos"):
            #0  __futex_abstimed_wait_common64 (private=0) at ./nptl/futex-internal.c:57
            #1  0x00007f in ___pthread_cond_wait (cond=0x2) at ./nptl/pthread_cond_wait.c:618
            #2  0x00007f in Process.waitUntilExit() ()
            #3  0x00007f in closure #1 in TestRedisServer.kill() ()
            """, arguments: ["2"])
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardOutput == """
                 2 × [com.apple.root.default-qos] Process.waitUntilExit() < TestRedisServer.kill()
                 1 × [NIO-SGLTN-N-#N] Epoll.epoll_wait(epfd:events:maxevents:timeout:) < Selector.whenReady(strategy:onLoopBegin:_:)

            """)
    }

    /// Runs `scripts/NAME` with python3 on a file holding `input`, then `arguments`.
    static func runScript(_ name: String, on input: String, arguments: [String] = []) async throws -> ChildProcess.Output {
        let python = try #require(ExternalTool.path("python3"), "python3 runs the test command's scripts")
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let file = directory.path + "/input"
        try input.write(toFile: file, atomically: true, encoding: .utf8)
        return try await ChildProcess.run(python, [RepositoryPaths.root + "/scripts/" + name, file] + arguments)
    }
}
