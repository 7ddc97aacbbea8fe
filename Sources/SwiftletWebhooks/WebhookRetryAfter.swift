import Foundation

/// Reads a receiver's `Retry-After` header (RFC 9110 §10.2.3): delay-seconds, or an
/// HTTP-date in any of the three forms a recipient must accept (§5.6.7).
///
/// Parsed by hand, not with a `DateFormatter`, so it is pure and exact: the tests pin
/// every form, and a value that is not one of them is ignored rather than half-read.
public enum WebhookRetryAfter {
    /// The delay `value` asks for, in whole seconds, at `now`; zero for a date already
    /// past; `nil` when `value` is neither form (the header is then ignored).
    public static func delay(parsing value: String, now: Date) -> Duration? {
        let text = value.trimmingCharacters(in: .whitespaces)
        guard !text.isEmpty else { return nil }
        if text.utf8.allSatisfy({ (48...57).contains($0) }) {
            // A delay of more than 18 digits is still "far later": saturate rather than fail.
            guard text.utf8.count <= 18, let seconds = Int64(text) else { return .seconds(Int64.max / 2) }
            return .seconds(seconds)
        }
        guard let date = httpDate(text, now: now) else { return nil }
        let seconds = max(0, date - Int64(now.timeIntervalSince1970.rounded(.down)))
        return .seconds(seconds)
    }

    /// Seconds since 1970 of an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), an RFC 850
    /// date (`Sunday, 06-Nov-94 08:49:37 GMT`) or an asctime date (`Sun Nov  6 08:49:37 1994`).
    static func httpDate(_ text: String, now: Date) -> Int64? {
        let tokens = text.split(separator: " ").map { $0.lowercased() }
        switch tokens.count {
        case 6 where tokens[0].hasSuffix(",") && tokens[5] == "gmt":
            guard shortDays.contains(String(tokens[0].dropLast())),
                  let day = number(tokens[1], digits: 2...2), let month = month(tokens[2]),
                  let year = number(tokens[3], digits: 4...4)
            else { return nil }
            return timestamp(year: year, month: month, day: day, time: tokens[4])
        case 4 where tokens[0].hasSuffix(",") && tokens[3] == "gmt":
            let date = tokens[1].split(separator: "-", omittingEmptySubsequences: false)
            guard longDays.contains(String(tokens[0].dropLast())), date.count == 3,
                  let day = number(date[0], digits: 2...2), let month = month(String(date[1])),
                  let shortYear = number(date[2], digits: 2...2)
            else { return nil }
            return timestamp(year: fullYear(shortYear, now: now), month: month, day: day, time: tokens[2])
        case 5:
            guard shortDays.contains(tokens[0]), let month = month(tokens[1]),
                  let day = number(tokens[2], digits: 1...2), let year = number(tokens[4], digits: 4...4)
            else { return nil }
            return timestamp(year: year, month: month, day: day, time: tokens[3])
        default:
            return nil
        }
    }

    static let shortDays: Set<String> = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    static let longDays: Set<String> = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
    static let months = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]

    /// A decimal number of `digits` ASCII digits, nothing else (no sign, no spaces).
    static func number(_ text: some StringProtocol, digits: ClosedRange<Int>) -> Int? {
        guard digits.contains(text.utf8.count), text.utf8.allSatisfy({ (48...57).contains($0) }) else { return nil }
        return Int(text)
    }

    static func month(_ name: String) -> Int? {
        months.firstIndex(of: name).map { $0 + 1 }
    }

    /// RFC 9110: a two-digit year more than 50 years in the future is the most recent
    /// past year with those digits.
    static func fullYear(_ shortYear: Int, now: Date) -> Int {
        let currentYear = civilYear(daysSince1970: Int((now.timeIntervalSince1970 / 86_400).rounded(.down)))
        var year = currentYear - currentYear % 100 + shortYear
        if year > currentYear + 50 { year -= 100 } else if year + 100 <= currentYear + 50 { year += 100 }
        return year
    }

    /// `HH:MM:SS` on a checked calendar day, as seconds since 1970 (UTC, as HTTP-dates are).
    static func timestamp(year: Int, month: Int, day: Int, time: String) -> Int64? {
        let parts = time.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 3, let hour = number(parts[0], digits: 2...2),
              let minute = number(parts[1], digits: 2...2), let second = number(parts[2], digits: 2...2),
              (0...23).contains(hour), (0...59).contains(minute), (0...60).contains(second),
              (1...12).contains(month), (1...daysIn(month: month, year: year)).contains(day)
        else { return nil }
        let days = daysSince1970(year: year, month: month, day: day)
        return Int64(days) * 86_400 + Int64(hour * 3600 + minute * 60 + second)
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's
    /// `days_from_civil`).
    static func daysSince1970(year: Int, month: Int, day: Int) -> Int {
        let shifted = month <= 2 ? year - 1 : year
        let era = (shifted >= 0 ? shifted : shifted - 399) / 400
        let yearOfEra = shifted - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The year of the day `days` after 1970-01-01 (the inverse of the above, year only).
    static func civilYear(daysSince1970 days: Int) -> Int {
        let shifted = days + 719_468
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        return yearOfEra + era * 400 + (monthIndex >= 10 ? 1 : 0)
    }
}
