import HTTPTypes
import Hummingbird

/// A foreign API mounted under a path prefix (the WeChat and WeChat Pay sandboxes) that
/// answers requests no route matched in that API's own error shape instead of Swiftlet's.
///
/// An SDK pointed at a mounted API parses only its service's errors: WeChat's
/// `{"errcode","errmsg"}` or WeChat Pay's signed `{"code","message"}`. A typo in a path
/// answered as `{"error":{…}}` leaves the SDK unable even to report what went wrong.
public struct MountedAPIErrorShape: Sendable {
    /// What the router could not serve.
    public enum Miss: Sendable, Equatable {
        /// No route has this path.
        case unknownPath
        /// The path exists for `allowed` methods only.
        case methodNotAllowed(allowed: [HTTPRequest.Method])
    }

    public let pathPrefix: String
    let answer: @Sendable (_ request: Request, _ miss: Miss) -> Response

    /// - Parameters:
    ///   - pathPrefix: the mount point, without a trailing slash (`/sandbox/wechat`).
    ///   - answer: the API's own answer to `miss`.
    public init(pathPrefix: String, answer: @escaping @Sendable (_ request: Request, _ miss: Miss) -> Response) {
        self.pathPrefix = pathPrefix
        self.answer = answer
    }

    /// Whether `path` lies under the mount point, by whole segments (`/sandbox/wechatpay`
    /// is not under `/sandbox/wechat`).
    func covers(_ path: String) -> Bool {
        path == pathPrefix || path.hasPrefix(pathPrefix) && path.utf8.dropFirst(pathPrefix.utf8.count).first == UInt8(ascii: "/")
    }
}
