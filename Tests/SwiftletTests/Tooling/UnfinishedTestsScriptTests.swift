import Foundation
import Testing

/// `scripts/unfinished_tests.py` names the tests a hung run started and never finished, so
/// the test command's log says which test to look at when a run outlives its time limit.
@Suite("The hung-run report of the test command")
struct UnfinishedTestsScriptTests {
    @Test("names exactly the started tests with no end, also when a name says passed or failed")
    func namesTheUnfinishedTests() async throws {
        let python = try #require(ExternalTool.path("python3"), "python3 runs the test command's scripts")
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let output = directory.path + "/tests.out"
        try """
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
            """.write(toFile: output, atomically: true, encoding: .utf8)

        let result = try await ChildProcess.run(python, [RepositoryPaths.root + "/scripts/unfinished_tests.py", output])
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardOutput == "  still running: \"a cut database: orders answer 503\"\n")
    }
}
