import Foundation

/// UTC timestamps as `2026-11-21T06:03:37.585Z`, formatted by hand: they are written on
/// every access-log line and most responses, where Foundation's format styles are slow.
public enum RFC3339 {
    public static func string(_ date: Date) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(24)
        append(unixMilliseconds: date.unixMilliseconds, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    public static var now: String {
        string(Date())
    }

    /// Reads an RFC 3339 time as people and tools write it: with or without fractional
    /// seconds, `Z` or an offset. Nil when it is not one. (Input only: admin requests, the
    /// CLI, event payloads; never a hot path.)
    public static func date(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.date(from: text)
    }

    /// Appends the timestamp of `milliseconds` since the Unix epoch. Pure arithmetic (the
    /// proleptic Gregorian calendar from a day count), so the access log can stamp every
    /// line without a lock, a cache or a C library call.
    public static func append(unixMilliseconds milliseconds: Int64, to output: inout [UInt8]) {
        let seconds = milliseconds >= 0 ? milliseconds / 1000 : (milliseconds - 999) / 1000
        let fraction = milliseconds - seconds * 1000
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = seconds - days * 86_400
        let (year, month, day) = civil(daysSinceEpoch: days)
        appendDigits(year, width: 4, to: &output)
        output.append(UInt8(ascii: "-"))
        appendDigits(month, width: 2, to: &output)
        output.append(UInt8(ascii: "-"))
        appendDigits(day, width: 2, to: &output)
        output.append(UInt8(ascii: "T"))
        appendDigits(secondOfDay / 3600, width: 2, to: &output)
        output.append(UInt8(ascii: ":"))
        appendDigits(secondOfDay / 60 % 60, width: 2, to: &output)
        output.append(UInt8(ascii: ":"))
        appendDigits(secondOfDay % 60, width: 2, to: &output)
        output.append(UInt8(ascii: "."))
        appendDigits(fraction, width: 3, to: &output)
        output.append(UInt8(ascii: "Z"))
    }

    /// Year, month (1–12) and day (1–31) of a day count since 1970-01-01 (H. Hinnant's
    /// `civil_from_days`).
    static func civil(daysSinceEpoch days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let shifted = days + 719_468
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    /// Appends `value` (≥ 0) as exactly `width` digits, zero-padded. Filled from the end
    /// with divisions by the constant 10, which compile to multiplications.
    private static func appendDigits(_ value: Int64, width: Int, to output: inout [UInt8]) {
        let start = output.count
        output.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: width))
        var remaining = value
        var index = output.count - 1
        while index >= start, remaining > 0 {
            output[index] = UInt8(ascii: "0") + UInt8(truncatingIfNeeded: remaining % 10)
            remaining /= 10
            index -= 1
        }
    }
}
