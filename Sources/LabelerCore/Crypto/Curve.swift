/// The two curves atproto signing keys use.
public enum KeyCurve: String, Sendable, Hashable, Codable, CaseIterable {
    /// secp256k1 ("k256", JWT alg ES256K), multicodec 0xe7.
    case secp256k1
    /// NIST P-256 ("p256", JWT alg ES256), multicodec 0x1200.
    case p256

    /// The multicodec prefix as its unsigned-varint bytes.
    var multicodecPrefix: [UInt8] {
        switch self {
        case .secp256k1: [0xe7, 0x01]
        case .p256: [0x80, 0x24]
        }
    }

    public var jwtAlg: String {
        switch self {
        case .secp256k1: "ES256K"
        case .p256: "ES256"
        }
    }
}
