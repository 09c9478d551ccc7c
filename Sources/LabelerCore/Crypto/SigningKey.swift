import Foundation

/// A private signing key on either curve. Signatures are deterministic (RFC 6979), low-S, compact.
public struct SigningKey: Sendable {
    public let curve: KeyCurve
    private let secret: [UInt8]
    public let publicKey: PublicKey

    public init(curve: KeyCurve, secret: [UInt8]) throws(KeyError) {
        let valid = switch curve {
        case .secp256k1: Secp256k1.isValidSecret(secret)
        case .p256: P256.isValidSecret(secret)
        }
        guard valid else { throw .invalidPrivateKey }
        self.curve = curve
        self.secret = secret
        let compressed = switch curve {
        case .secp256k1: Secp256k1.publicKey(secret: secret)
        case .p256: P256.publicKey(secret: secret)
        }
        publicKey = try PublicKey(curve: curve, compressed: compressed)
    }

    /// A 64-digit hex private key (surrounding white space is ignored).
    public init(curve: KeyCurve = .secp256k1, hex: String) throws(KeyError) {
        let trimmed = hex.trimmingCharacters(in: .whitespacesAndNewlines)
        guard trimmed.utf8.count == 64, let secret = Hex.decode(trimmed) else { throw .invalidPrivateKey }
        try self.init(curve: curve, secret: secret)
    }

    public static func generate(curve: KeyCurve = .secp256k1) -> SigningKey {
        while true {
            if let key = try? SigningKey(curve: curve, secret: secureRandomBytes(32)) { return key }
        }
    }

    public var hex: String { Hex.encode(secret) }

    public func sign(digest: [UInt8]) -> [UInt8] {
        switch curve {
        case .secp256k1: Secp256k1.sign(digest: digest, secret: secret)
        case .p256: P256.sign(digest: digest, secret: secret)
        }
    }

    public func sign(message: [UInt8]) -> [UInt8] { sign(digest: SHA256.hash(message)) }
}
