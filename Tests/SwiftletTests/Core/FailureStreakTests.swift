import Foundation
import Synchronization
@testable import SwiftletCore
import Testing

/// A polling loop's failures: the first of an outage logged, then one line a minute, then
/// one line when it works again.
@Suite("Failure streaks")
struct FailureStreakTests {
    static let start = Date(timeIntervalSince1970: 1_700_000_000)

    @Test("the first failure is logged, repeats within a minute are counted, the next minute logs how many")
    func throttled() {
        var streak = FailureStreak()
        #expect(streak.failed(now: Self.start) == .failure(repeated: 0))
        for second in 1...59 {
            #expect(streak.failed(now: Self.start.addingTimeInterval(Double(second))) == .none)
        }
        #expect(streak.failed(now: Self.start.addingTimeInterval(60)) == .failure(repeated: 59))
        #expect(streak.failed(now: Self.start.addingTimeInterval(61)) == .none)
        #expect(streak.succeeded() == .recovered(failures: 62, since: Self.start))
        #expect(streak.succeeded() == .none, "one recovery line per outage")
        #expect(streak.failed(now: Self.start.addingTimeInterval(62)) == .failure(repeated: 0), "a new outage is logged at once")
    }

    @Test("success without failures says nothing")
    func quiet() {
        var streak = FailureStreak()
        #expect(streak.succeeded() == .none)
    }

    @Test("the log: one warning with the error, then one notice when it works again")
    func logLines() {
        let recorder = LogRecorder()
        let now = Mutex(Self.start)
        let log = FailureStreakLog("webhook poll failed", clock: SwiftletClock { now.withLock { $0 } })
        for _ in 0..<30 {
            log.failed(SwiftletError.unavailable("storage.unavailable", "The database cannot be reached."), logger: recorder.logger)
            now.withLock { $0 = $0.addingTimeInterval(1) }
        }
        log.succeeded(logger: recorder.logger)
        let lines = recorder.logged
        #expect(lines.map(\.message) == ["webhook poll failed", "webhook poll failed: working again"])
        #expect(lines.first?.level == .warning)
        #expect(lines.first?.metadata["error"]?.contains("storage.unavailable") == true)
        #expect(lines.last?.metadata["failures"] == "30")
        #expect(lines.last?.metadata["seconds"] == "30")
        #expect(lines.allSatisfy { $0.source == "SwiftletTests" }, "lines name the module that owns the loop")
    }
}
