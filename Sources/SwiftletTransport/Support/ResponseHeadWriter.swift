import HTTPTypes
import NIOCore

/// Writes an HTTP/1.1 response head as bytes, with the headers every Swiftlet response
/// carries (request id, date, server), for the answers written straight to the socket:
/// the inline lane's and the upgrade lane's. Values are ours (content types from code,
/// request ids checked by `RequestIDs.isAcceptable`), so nothing here needs escaping.
struct ResponseHeadWriter: Sendable {
    let serverName: String?
    let date: HTTPDateHeader

    func write(
        status: HTTPResponse.Status, contentType: String?, bodyByteCount: Int?, extra: HTTPFields, requestID: String,
        to buffer: inout ByteBuffer
    ) {
        if status == .ok {
            buffer.writeStaticString("HTTP/1.1 200 OK\r\n")
        } else {
            buffer.writeString("HTTP/1.1 \(status.code) \(status.reasonPhrase)\r\n")
        }
        if let contentType {
            buffer.writeStaticString("Content-Type: ")
            buffer.writeString(contentType)
            buffer.writeStaticString("\r\n")
        }
        for field in extra {
            buffer.writeString(field.name.rawName)
            buffer.writeStaticString(": ")
            buffer.writeString(field.value)
            buffer.writeStaticString("\r\n")
        }
        if let bodyByteCount {
            buffer.writeStaticString("Content-Length: ")
            buffer.writeString(String(bodyByteCount))
            buffer.writeStaticString("\r\n")
        }
        buffer.writeStaticString("X-Request-Id: ")
        buffer.writeString(requestID)
        buffer.writeStaticString("\r\nDate: ")
        buffer.writeString(date.current)
        if let serverName {
            buffer.writeStaticString("\r\nServer: ")
            buffer.writeString(serverName)
        }
        buffer.writeStaticString("\r\n\r\n")
    }
}
