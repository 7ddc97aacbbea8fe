import HTTPTypes
import NIOCore
import NIOHTTP1
import SwiftletCore

/// The transport's side of protocol upgrades, shared by every connection: which requests
/// ask for one, the seam calls and request ids they get like every other request, and
/// the bytes of the answers (the refusal as the usual JSON error, or `101`).
public final class UpgradeLane: Sendable {
    let upgraders: [any ConnectionUpgrader]
    let requestIDs: RequestIDs
    let seam: RequestSeam
    let head: ResponseHeadWriter

    public init(upgraders: [any ConnectionUpgrader], requestIDs: RequestIDs, seam: RequestSeam, serverName: String?,
                date: HTTPDateHeader) {
        self.upgraders = upgraders
        self.requestIDs = requestIDs
        self.seam = seam
        self.head = ResponseHeadWriter(serverName: serverName, date: date)
    }

    /// The upgrader for a GET on its path that carries an `Upgrade` header; nil leaves
    /// the request to the router (which answers a plain GET on the path itself).
    func upgrader(for request: HTTPRequestHead) -> (any ConnectionUpgrader)? {
        guard request.method == .GET, request.headers.contains(name: "upgrade") else { return nil }
        let uri = request.uri
        let path = uri[..<(uri.firstIndex(of: "?") ?? uri.endIndex)]
        return upgraders.first { $0.path == path }
    }

    /// A request under way through the seam.
    struct Pending: Sendable {
        let upgrader: any ConnectionUpgrader
        let request: UpgradeRequest
        let start: RequestStart
        let passage: RequestSeam.Passage
    }

    func begin(_ request: HTTPRequestHead, upgrader: any ConnectionUpgrader, client: SocketAddress?,
               started: NIODeadline) -> Pending {
        let requestID = requestIDs.resolve(supplied: request.headers.first(name: "x-request-id"))
        let start = RequestStart(
            method: .get, route: upgrader.path, path: upgrader.path, client: client, requestID: requestID,
            headers: .http1(request.headers), started: started)
        return Pending(upgrader: upgrader, request: UpgradeRequest(head: request, requestID: requestID, client: client),
                       start: start, passage: seam.begin(start))
    }

    /// The refusal's bytes (it closes the connection: after an upgrade request the HTTP
    /// parser has stopped), with the seam's end.
    func refusal(_ error: SwiftletError, for pending: Pending, allocator: ByteBufferAllocator) -> ByteBuffer {
        let encoded = ErrorResponse.encode(ErrorResponse.classify(error), requestID: pending.request.requestID)
        var extra = encoded.headers
        extra[.connection] = "close"
        let bodyByteCount = encoded.body.utf8.count
        var buffer = allocator.buffer(capacity: 256 + bodyByteCount)
        head.write(status: encoded.status, contentType: nil, bodyByteCount: bodyByteCount, extra: extra,
                   requestID: pending.request.requestID, to: &buffer)
        buffer.writeString(encoded.body)
        end(pending, status: encoded.status, bodyBytes: bodyByteCount)
        return buffer
    }

    /// The `101` answer's bytes, with the seam's end.
    func switching(_ acceptance: UpgradeAcceptance, for pending: Pending, allocator: ByteBufferAllocator) -> ByteBuffer {
        var extra = HTTPFields()
        for (name, value) in acceptance.headers {
            if let field = HTTPField.Name(name) { extra.append(HTTPField(name: field, value: value)) }
        }
        var buffer = allocator.buffer(capacity: 256)
        head.write(status: .switchingProtocols, contentType: nil, bodyByteCount: nil, extra: extra,
                   requestID: pending.request.requestID, to: &buffer)
        end(pending, status: .switchingProtocols, bodyBytes: 0)
        return buffer
    }

    private func end(_ pending: Pending, status: HTTPResponse.Status, bodyBytes: Int) {
        seam.end(pending.start, pending.passage, RequestOutcome(
            status: status, bodyBytes: bodyBytes,
            durationNanoseconds: (NIODeadline.now() - pending.start.started).nanoseconds))
    }
}
