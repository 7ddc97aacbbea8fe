import NIOCore
import Testing
@testable import SwiftletTransport

/// The slow-client rules, driven with explicit times: no sockets, no sleeping.
@Suite("Connection deadlines")
struct ConnectionDeadlinesTests: DeadlineFixture {

    @Test func newConnectionGetsTheIdleDeadline() {
        var state = ConnectionDeadlines(timeouts: timeouts)
        #expect(state.connectionOpened(now: t0) == .schedule(at(60)))
        #expect(!state.isExpired(now: at(59)))
        #expect(state.isExpired(now: at(60)))
    }

    @Test func firstByteStartsTheHeaderDeadlineAndMoreBytesDoNotExtendIt() {
        var state = ConnectionDeadlines(timeouts: timeouts)
        _ = state.connectionOpened(now: t0)
        #expect(state.bytesReceived(now: at(5)) == .schedule(at(15)))
        #expect(state.bytesReceived(now: at(9)) == .none, "dribbling does not buy time")
        #expect(state.bytesReceived(now: at(14)) == .none)
        #expect(state.isExpired(now: at(15)))
    }

    @Test func headStartsTheBodyDeadlineAndEndClearsIt() {
        var state = ConnectionDeadlines(timeouts: timeouts)
        _ = state.connectionOpened(now: t0)
        _ = state.bytesReceived(now: at(1))
        #expect(state.headReceived(now: at(2)) == .schedule(at(32)))
        #expect(state.bytesReceived(now: at(20)) == .none)
        #expect(state.requestEnded(now: at(25)) == .cancel)
        #expect(!state.isExpired(now: at(10_000)), "a handler may take as long as it needs")
    }

    @Test func responseEndReturnsToIdle() {
        var state = ConnectionDeadlines(timeouts: timeouts)
        _ = state.connectionOpened(now: t0)
        _ = state.bytesReceived(now: at(1))
        _ = state.headReceived(now: at(1))
        _ = state.requestEnded(now: at(1))
        #expect(state.responseEnded(now: at(100)) == .schedule(at(160)))
        #expect(state.phase == .awaitingRequest)
        #expect(state.bytesReceived(now: at(120)) == .schedule(at(130)), "the next request gets a fresh header deadline")
    }

    @Test func earlyResponseKeepsTheBodyDeadlineUntilTheBodyEnds() {
        var state = ConnectionDeadlines(timeouts: timeouts)
        _ = state.connectionOpened(now: t0)
        _ = state.bytesReceived(now: at(0))
        _ = state.headReceived(now: at(0))
        #expect(state.responseEnded(now: at(1)) == .none, "body deadline (30) still applies")
        #expect(state.isExpired(now: at(30)))
        #expect(state.requestEnded(now: at(2)) == .schedule(at(62)))
        #expect(state.phase == .awaitingRequest)
    }
}

/// Pipelined requests: each keeps its own deadlines.
@Suite("Connection deadlines, pipelined")
struct PipelinedDeadlinesTests: DeadlineFixture {

    @Test func answeringTheFirstRequestDoesNotStartTheIdleClockOnTheSecond() {
        var state = ConnectionDeadlines(timeouts: timeouts)
        _ = state.connectionOpened(now: t0)
        _ = state.bytesReceived(now: at(0))
        _ = state.headReceived(now: at(0))
        _ = state.requestEnded(now: at(0))
        _ = state.bytesReceived(now: at(0))
        _ = state.headReceived(now: at(0))
        #expect(state.requestEnded(now: at(0)) == .cancel)
        #expect(state.unanswered == 2)
        #expect(state.responseEnded(now: at(1)) == .cancel, "the second request's handler is still working")
        #expect(!state.isExpired(now: at(10_000)), "no deadline cuts the second handler off")
        #expect(state.responseEnded(now: at(10_000)) == .schedule(at(10_060)))
    }

    @Test func aPipelinedBodyKeepsItsDeadlineWhenAnEarlierResponseEnds() {
        var state = ConnectionDeadlines(timeouts: timeouts)
        _ = state.connectionOpened(now: t0)
        _ = state.bytesReceived(now: at(0))
        _ = state.headReceived(now: at(0))
        _ = state.requestEnded(now: at(0))
        _ = state.bytesReceived(now: at(1))
        #expect(state.headReceived(now: at(2)) == .schedule(at(32)))
        #expect(state.responseEnded(now: at(3)) == .none, "the body being read keeps its deadline")
        #expect(state.isExpired(now: at(32)))
    }
}

/// A client that stops reading our answers.
@Suite("Connection deadlines, write stalls")
struct WriteStallDeadlineTests: DeadlineFixture {

    @Test func aResponseWaitingForAReaderIsBoundedByIdle() {
        var state = ConnectionDeadlines(timeouts: timeouts)
        _ = state.connectionOpened(now: t0)
        _ = state.bytesReceived(now: at(0))
        _ = state.headReceived(now: at(0))
        _ = state.requestEnded(now: at(0))
        #expect(!state.isExpired(now: at(10_000)), "a handler may work as long as it needs")
        state.writeStalled(now: at(10_000))
        state.writeStalled(now: at(10_030))
        #expect(!state.isExpired(now: at(10_059)))
        #expect(state.isExpired(now: at(10_060)), "a stall that goes on does not extend it")
    }

    @Test func readingAgainLiftsTheStallDeadline() {
        var state = ConnectionDeadlines(timeouts: timeouts)
        _ = state.connectionOpened(now: t0)
        _ = state.bytesReceived(now: at(0))
        _ = state.headReceived(now: at(0))
        _ = state.requestEnded(now: at(0))
        state.writeStalled(now: at(1))
        state.writeResumed()
        #expect(!state.isExpired(now: at(100)))
    }
}

/// The timeouts and explicit instants the deadline suites share.
protocol DeadlineFixture {}

extension DeadlineFixture {
    var timeouts: ConnectionTimeouts { ConnectionTimeouts(idle: .seconds(60), header: .seconds(10), body: .seconds(30)) }
    var t0: NIODeadline { NIODeadline.uptimeNanoseconds(1_000_000_000) }

    func at(_ seconds: Int64) -> NIODeadline { t0 + .seconds(seconds) }
}
