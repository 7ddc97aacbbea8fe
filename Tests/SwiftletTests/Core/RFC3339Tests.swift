#if canImport(Glibc)
import Glibc
#endif
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
        (4_107_542_400_000, "2100-03-01T00:00:00.000Z"),
    ])
    func formatsUTCWithMilliseconds(_ milliseconds: Int64, _ expected: String) {
        #expect(RFC3339.string(Date(unixMilliseconds: milliseconds)) == expected)
    }

    /// The calendar arithmetic agrees with the C library's `gmtime_r` across four
    /// centuries of random instants (leap years, century rules, before 1970).
    @Test func beforeTheEpoch() {
        var bytes: [UInt8] = []
        RFC3339.append(unixMilliseconds: -1, to: &bytes)
        #expect(String(decoding: bytes, as: UTF8.self) == "1969-12-31T23:59:59.999Z")
    }

    @Test func agreesWithTheCLibrary() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<5_000 {
            let milliseconds = Int64.random(in: -6_000_000_000_000...9_000_000_000_000, using: &generator)
            var seconds = time_t(milliseconds >= 0 ? milliseconds / 1000 : (milliseconds - 999) / 1000)
            let fraction = milliseconds - Int64(seconds) * 1000
            var parts = tm()
            gmtime_r(&seconds, &parts)
            func pad(_ value: Int32, _ width: Int) -> String {
                let text = String(value)
                return String(repeating: "0", count: max(0, width - text.count)) + text
            }
            let expected = "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
                + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2)).\(pad(Int32(fraction), 3))Z"
            var bytes: [UInt8] = []
            RFC3339.append(unixMilliseconds: milliseconds, to: &bytes)
            #expect(String(decoding: bytes, as: UTF8.self) == expected, "\(milliseconds)")
        }
    }
}
