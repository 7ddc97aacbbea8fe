/// An error that can describe itself for a log line without personal data or secrets.
///
/// Driver errors print the failing SQL with its bind values (openid, phone, nickname)
/// when reflected; an error that reaches a log goes through `ErrorLog.describe`, which
/// uses this description and never the error's own.
public protocol LoggableError: Error {
    /// Kind, database code and a message with literals masked; nothing a user typed.
    var logDescription: String { get }
}

/// The one way an error is written to a log line (request failures, job failures,
/// payment and refund follow-ups).
public enum ErrorLog {
    public static func describe(_ error: any Error) -> String {
        switch error {
        case let error as SwiftletError:
            // Its message is written for clients, so it is safe to log as well.
            "\(error.code) (\(error.kind.rawValue)): \(error.message)"
        case let error as any LoggableError:
            error.logDescription
        case is CancellationError:
            "cancelled"
        default:
            // An error we know nothing about may carry anything; its type is enough to
            // find the code path, and the request id ties it to the access log.
            String(reflecting: type(of: error))
        }
    }

    /// Masks what may be user data in a database message: every quoted segment that is
    /// not one of the schema identifiers the database reported separately (table,
    /// column, constraint), and every run of 5 or more digits (phone numbers, ids).
    ///
    /// `duplicate key value violates unique constraint "users_phone_key"` keeps its
    /// constraint name; `invalid input syntax for type bigint: "13800138000"` becomes
    /// `invalid input syntax for type bigint: "…"`.
    public static func sanitise(_ message: String, keeping identifiers: Set<String> = []) -> String {
        var result = ""
        var index = message.startIndex
        while index < message.endIndex {
            let character = message[index]
            if character == "\"" || character == "'",
               let close = message[message.index(after: index)...].firstIndex(of: character) {
                let quoted = String(message[message.index(after: index)..<close])
                result.append(character)
                result += identifiers.contains(quoted) ? quoted : "…"
                result.append(character)
                index = message.index(after: close)
            } else if let (end, digitCount) = numberRun(in: message, from: index) {
                // Digits joined by single separators count as one number, so a phone
                // number written "138-0013-8000" or "+86 138 0013 8000" is masked too.
                result += digitCount >= 5 ? "#" : String(message[index..<end])
                index = end
            } else {
                result.append(character)
                index = message.index(after: index)
            }
        }
        return result
    }

    /// A run of ASCII digits starting at `start` (or at a `+` before one), with single
    /// `-`, space or `.` between digit groups: where it ends and how many digits it holds.
    static func numberRun(in text: String, from start: String.Index) -> (end: String.Index, digits: Int)? {
        func isDigit(_ index: String.Index) -> Bool { index < text.endIndex && text[index].isASCII && text[index].isNumber }
        var index = start
        if text[index] == "+", isDigit(text.index(after: index)) { index = text.index(after: index) }
        guard isDigit(index) else { return nil }
        var digits = 0
        var end = index
        while true {
            while isDigit(index) {
                digits += 1
                index = text.index(after: index)
            }
            end = index
            guard index < text.endIndex, "- .".contains(text[index]), isDigit(text.index(after: index)) else { break }
            index = text.index(after: index)
        }
        return (end, digits)
    }
}
