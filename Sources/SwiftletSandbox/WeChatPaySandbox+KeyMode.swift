import Foundation

extension WeChatPaySandbox {
    /// Where the merchant stands in its key mode now (sandbox clock): a migration whose
    /// window has passed is public-key mode.
    enum EffectiveKeyMode: Equatable {
        case certificate
        case publicKey
        /// The share of notifies signed with the public key, in 0..<1.
        case migrating(publicKeyShare: Double)
    }

    var effectiveKeyMode: EffectiveKeyMode {
        switch keyMode {
        case .certificate: return .certificate
        case .publicKey: return .publicKey
        case .migrating(let window):
            let elapsed = now.timeIntervalSince(migrationStartedAt)
            let seconds = Double(window.components.seconds) + Double(window.components.attoseconds) / 1e18
            let share = seconds <= 0 ? 1 : max(0, elapsed / seconds)
            return share >= 1 ? .publicKey : .migrating(publicKeyShare: share)
        }
    }

    /// The serial an answer is signed under: the one the request named, already checked by
    /// `acceptedSerial`, or else the merchant's own (the certificate while migrating, as
    /// answers follow the `Wechatpay-Serial` a request sends).
    func answerSerial(requested: String?) -> String {
        if let requested { return requested }
        return effectiveKeyMode == .publicKey ? credentials.publicKeyID : credentials.platformCertificateSerialNumber
    }

    /// Checks a request's `Wechatpay-Serial` against the merchant's mode: a certificate-mode
    /// merchant has no public key to name, a public-key-mode one no certificate, and a
    /// migrating one may name either.
    func acceptedSerial(_ named: String) throws(PayAPIError) -> String {
        let mode = effectiveKeyMode
        switch named {
        case credentials.publicKeyID where mode != .certificate:
            return named
        case credentials.platformCertificateSerialNumber where mode != .publicKey:
            return named
        case credentials.publicKeyID:
            throw .invalidRequest("Wechatpay-Serial 无效：商户未启用微信支付公钥，请使用平台证书序列号")
        case credentials.platformCertificateSerialNumber:
            throw .invalidRequest("Wechatpay-Serial 无效：商户已切换为微信支付公钥，请使用微信支付公钥ID")
        default:
            throw .invalidRequest("Wechatpay-Serial 无效：既不是微信支付公钥ID，也不是有效的平台证书序列号")
        }
    }

    /// The serial the next notify (or notify retry) is signed under. While migrating, the
    /// public key's share of notifies grows with time; a running credit spreads them evenly
    /// (at a share of ½ every other notify) so the switch is gradual and reproducible.
    func notifySerial() -> String {
        switch effectiveKeyMode {
        case .certificate:
            return credentials.platformCertificateSerialNumber
        case .publicKey:
            return credentials.publicKeyID
        case .migrating(let share):
            let usesPublicKey = state.withLock { state in
                state.publicKeyNotifyCredit += share
                guard state.publicKeyNotifyCredit >= 1 else { return false }
                state.publicKeyNotifyCredit -= 1
                return true
            }
            return usesPublicKey ? credentials.publicKeyID : credentials.platformCertificateSerialNumber
        }
    }
}
