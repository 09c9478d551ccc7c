/// Why a key, multikey, did:key or signature could not be used.
public struct KeyError: Error, Sendable, Hashable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }

    public static let invalidPrivateKey = KeyError("private key must be 32 bytes (64 hex digits) and a valid scalar for its curve")
    public static let invalidPublicKey = KeyError("public key is not a valid compressed point on its curve")
    public static let invalidMultikey = KeyError("not a multibase base58btc multikey for secp256k1 or P-256")
    public static let invalidDidKey = KeyError("not a did:key for secp256k1 or P-256")
}
