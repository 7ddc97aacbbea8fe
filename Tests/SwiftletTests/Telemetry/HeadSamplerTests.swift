import Foundation
import SwiftletCore
@testable import SwiftletTransport
import Testing

/// Requests are sampled before any span exists: exactly one in `1/ratio`.
@Suite("Head sampling")
struct HeadSamplerTests {
    @Test("a ratio samples exactly its share, 0 none, 1 all", arguments: [0.01, 0.1, 0.25, 1.0, 0.0])
    func share(ratio: Double) {
        let sampler = HeadSampler(ratio: ratio)
        let taken = (0..<10_000).filter { _ in sampler.take() }.count
        #expect(taken == Int((10_000 * ratio).rounded()))
    }

    @Test("an unsampled request's parent says 'not sampled'")
    func unsampledParentFlags() {
        #expect(RequestTracing.unsampledTraceparent.hasSuffix("-00"))
        #expect(RequestTracing.unsampledTraceparent.contains(RequestTracing.unsampledTraceID))
    }

    @Test("threads count apart and still take exactly their share")
    func sharePerThread() async {
        let sampler = HeadSampler(ratio: 0.01)
        let taken = await withTaskGroup(of: Int.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    await withCheckedContinuation { (done: CheckedContinuation<Int, Never>) in
                        Thread { done.resume(returning: (0..<10_000).filter { _ in sampler.take() }.count) }.start()
                    }
                }
            }
            return await group.reduce(0, +)
        }
        #expect(taken == 8 * 100)
    }

    @Test("the unsampled parent carries the mark that spares database spans and log trace ids")
    func unsampledParentIsMarked() {
        #expect(UnsampledTrace.isMarked(RequestTracing(enabled: true, sampleRatio: 0).unsampledParent))
        #expect(!UnsampledTrace.isMarked(.topLevel))
    }
}
