import Hummingbird
import SwiftletTransport

extension WeChatPaySandbox {
    /// How the sandbox answers a path it does not serve, or a method a path does not take:
    /// as WeChat Pay answers errors, signed, with `Request-ID` and `{"code","message"}`:
    /// 404 `RESOURCE_NOT_EXISTS` for an unknown path, 400 `INVALID_REQUEST` for a wrong
    /// method (the sandbox's choices where WeChat Pay's answers are unconfirmed). An SDK then
    /// raises WeChat Pay's own error instead of failing on a body it cannot parse.
    public func routeMissShape(at prefix: String = WeChatPaySandbox.pathPrefix) -> MountedAPIErrorShape {
        MountedAPIErrorShape(pathPrefix: prefix) { [self] request, miss in
            let error = switch miss {
            case .unknownPath:
                PayAPIError(.notFound, "RESOURCE_NOT_EXISTS", "请求的资源不存在：\(request.uri.path)")
            case .methodNotAllowed(let allowed):
                PayAPIError.invalidRequest(
                    "不支持 \(request.method.rawValue) 方法，请使用 \(allowed.map(\.rawValue).joined(separator: " 或 "))")
            }
            return signed(error.status, error.body, serial: answerSerial(requested: nil),
                          requestIDSuffix: String(error.status.code * 1000 + 1))
        }
    }
}
