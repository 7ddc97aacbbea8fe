import Foundation
import SwiftletWebhooks
import Testing

/// `Retry-After` as receivers send it: seconds, or an HTTP-date in the three forms RFC 9110
/// makes recipients accept (its own example date, 1994-11-06 08:49:37 UTC, is 784111777).
@Suite("Webhook Retry-After")
struct WebhookRetryAfterTests {
    let example = Date(timeIntervalSince1970: 784_111_777)

    func delay(_ value: String, at now: Date) -> Duration? {
        WebhookRetryAfter.delay(parsing: value, now: now)
    }

    @Test func delaySeconds() {
        let now = Date(timeIntervalSince1970: 1_750_000_000)
        #expect(delay("120", at: now) == .seconds(120))
        #expect(delay("0", at: now) == .seconds(0))
        #expect(delay(" 7 ", at: now) == .seconds(7))
        #expect(delay("007", at: now) == .seconds(7))
        #expect(delay("123456789012345678901234567890", at: now)! > .seconds(1_000_000_000), "saturates, never wraps")
        for refused in ["-5", "+5", "1.5", "1e3", "5s", "0x10", "", " ", "٣"] {
            #expect(delay(refused, at: now) == nil, "\(refused)")
        }
    }

    @Test func theThreeHTTPDateFormsAreTheSameInstant() {
        let earlier = example.addingTimeInterval(-90)
        for form in ["Sun, 06 Nov 1994 08:49:37 GMT", "Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994",
                     "sun, 06 nov 1994 08:49:37 gmt"] {
            #expect(delay(form, at: earlier) == .seconds(90), "\(form)")
        }
    }

    @Test func aDateInThePastMeansNoWait() {
        #expect(delay("Sun, 06 Nov 1994 08:49:37 GMT", at: example.addingTimeInterval(3600)) == .seconds(0))
        #expect(delay("Sun, 06 Nov 1994 08:49:37 GMT", at: example) == .seconds(0))
    }

    @Test func datesAcrossTheCalendar() {
        let epoch = Date(timeIntervalSince1970: 0)
        #expect(delay("Thu, 01 Jan 1970 00:00:01 GMT", at: epoch) == .seconds(1))
        #expect(delay("Thu, 29 Feb 2024 00:00:00 GMT", at: epoch) == .seconds(1_709_164_800))
        #expect(delay("Fri, 31 Dec 2100 23:59:59 GMT", at: epoch) == .seconds(4_133_980_799))
        #expect(delay("Tue, 29 Feb 2000 12:00:00 GMT", at: epoch) == .seconds(951_825_600))
        // Leap second: the next second, as the clock will read it.
        #expect(delay("Sat, 31 Dec 2016 23:59:60 GMT", at: epoch) == .seconds(1_483_228_800))
    }

    /// RFC 9110 §5.6.7: a two-digit year more than 50 years ahead is in the past century.
    @Test func twoDigitYearsAreTheMostRecentMatchingYear() {
        let in2025 = Date(timeIntervalSince1970: 1_750_000_000)
        #expect(delay("Monday, 16-Jun-25 15:06:40 GMT", at: in2025) == .seconds(86_400))
        #expect(delay("Friday, 01-Jan-75 00:00:00 GMT", at: in2025) == .seconds(3_313_526_400 - 1_750_000_000), "2075, 50 years on")
        #expect(delay("Thursday, 01-Jan-76 00:00:00 GMT", at: in2025) == .seconds(0), "1976, not 2076")
        let in2090 = Date(timeIntervalSince1970: 3_786_912_000)
        #expect(delay("Monday, 01-Jan-01 00:00:00 GMT", at: in2090)! > .seconds(0), "2101, within 50 years of 2090")
    }

    @Test func malformedDatesAreIgnored() {
        let now = Date(timeIntervalSince1970: 0)
        for refused in [
            "Sun, 31 Nov 1994 08:49:37 GMT", "Tue, 29 Feb 2100 08:49:37 GMT", "Sun, 06 Nov 1994 24:00:00 GMT",
            "Sun, 06 Nov 1994 08:60:00 GMT", "Sun, 06 Nov 1994 08:49:61 GMT", "Sun, 6 Nov 1994 08:49:37 GMT",
            "Sun, 06 Nov 94 08:49:37 GMT", "Sun, 06 Nov 1994 08:49:37 UTC", "Sun, 06 Nov 1994 08:49:37 +0000",
            "Sun, 06 Nov 1994 8:49:37 GMT", "Sun 06 Nov 1994 08:49:37 GMT", "Xyz, 06 Nov 1994 08:49:37 GMT",
            "Sun, 06 Foo 1994 08:49:37 GMT", "Sun, 00 Nov 1994 08:49:37 GMT", "Sunday, 06-Nov-1994 08:49:37 GMT",
            "Sun, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 94", "Sun Nov 06 08:49 1994", "2025-06-15T17:06:40Z",
            "Sun, +6 Nov 1994 08:49:37 GMT",
        ] {
            #expect(delay(refused, at: now) == nil, "\(refused)")
        }
    }
}
