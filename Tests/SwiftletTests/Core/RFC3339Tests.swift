import Foundation
import SwiftletCore
import Testing

@Suite("RFC 3339 timestamps")
struct RFC3339Tests {
    @Test(arguments: [
        (Int64(0), "1970-01-01T00:00:00.000Z"),
        (1_763_708_617_585, "2025-11-21T07:03:37.585Z"),
        (4_102_444_799_999, "2099-12-31T23:59:59.999Z"),
        (951_782_400_007, "2000-02-29T00:00:00.007Z"),
    ])
    func formatsUTCWithMilliseconds(_ milliseconds: Int64, _ expected: String) {
        #expect(RFC3339.string(Date(unixMilliseconds: milliseconds)) == expected)
    }
}
