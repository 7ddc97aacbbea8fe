#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// UTC timestamps as `2026-11-21T06:03:37.585Z`, formatted by hand: they are written on
/// every access-log line and most responses, where Foundation's format styles are slow.
public enum RFC3339 {
    public static func string(_ date: Date) -> String {
        let milliseconds = date.unixMilliseconds
        var seconds = time_t(milliseconds >= 0 ? milliseconds / 1000 : (milliseconds - 999) / 1000)
        let fraction = Int(milliseconds - Int64(seconds) * 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(24)
        func append(_ value: Int, width: Int) {
            var digits = [UInt8](repeating: UInt8(ascii: "0"), count: width)
            var remaining = value
            for position in stride(from: width - 1, through: 0, by: -1) {
                digits[position] = UInt8(ascii: "0") + UInt8(remaining % 10)
                remaining /= 10
            }
            bytes.append(contentsOf: digits)
        }
        append(Int(parts.tm_year) + 1900, width: 4); bytes.append(UInt8(ascii: "-"))
        append(Int(parts.tm_mon) + 1, width: 2); bytes.append(UInt8(ascii: "-"))
        append(Int(parts.tm_mday), width: 2); bytes.append(UInt8(ascii: "T"))
        append(Int(parts.tm_hour), width: 2); bytes.append(UInt8(ascii: ":"))
        append(Int(parts.tm_min), width: 2); bytes.append(UInt8(ascii: ":"))
        append(Int(parts.tm_sec), width: 2); bytes.append(UInt8(ascii: "."))
        append(fraction, width: 3); bytes.append(UInt8(ascii: "Z"))
        return String(decoding: bytes, as: UTF8.self)
    }

    public static var now: String {
        string(Date())
    }
}
