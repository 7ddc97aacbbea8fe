import Hummingbird
import SwiftletTransport

extension WeChatSandbox {
    /// How the sandbox answers a path it does not serve, or a method a path does not take:
    /// as WeChat answers, with HTTP 200 and `{"errcode","errmsg"}` (43001 "require GET
    /// method", 43002 "require POST method", and 40066 "invalid url" for a path WeChat does
    /// not have, the sandbox's choice where WeChat's answer is unconfirmed), so an SDK
    /// reports the errcode instead of failing on a body it cannot parse.
    public static func routeMissShape(at prefix: String = WeChatSandbox.pathPrefix) -> MountedAPIErrorShape {
        MountedAPIErrorShape(pathPrefix: prefix) { _, miss in
            switch miss {
            case .unknownPath:
                error(40066)
            case .methodNotAllowed(let allowed):
                error(allowed.contains(.post) ? 43002 : 43001)
            }
        }
    }
}
