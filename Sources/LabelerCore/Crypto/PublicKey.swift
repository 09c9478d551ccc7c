import CSecp256k1

/// A verification key: a curve and a 33-byte compressed point, checked to be on the curve.
public struct PublicKey: Sendable, Hashable, CustomStringConvertible {
    public let curve: KeyCurve
    public let compressed: [UInt8]
    /// libsecp256k1's parsed form, kept so each verification does not decompress the point again.
    private let parsedK256: [UInt8]?

    public init(curve: KeyCurve, compressed: [UInt8]) throws(KeyError) {
        self.curve = curve
        self.compressed = compressed
        switch curve {
        case .secp256k1:
            guard let pub = Secp256k1.parse(compressed: compressed) else { throw .invalidPublicKey }
            parsedK256 = withUnsafeBytes(of: pub.data) { Array($0) }
        case .p256:
            guard P256.isValidPublicKey(compressed) else { throw .invalidPublicKey }
            parsedK256 = nil
        }
    }

    /// `z` + base58btc(multicodec varint ‖ compressed point).
    public var multikey: String { "z" + Base58.encode(curve.multicodecPrefix + compressed) }
    public var didKey: String { "did:key:" + multikey }
    public var description: String { didKey }

    public init(multikey: String) throws(KeyError) {
        guard multikey.hasPrefix("z"), let raw = Base58.decode(String(multikey.dropFirst())), raw.count == 35 else {
            throw .invalidMultikey
        }
        guard let curve = KeyCurve.allCases.first(where: { Array(raw.prefix(2)) == $0.multicodecPrefix }) else {
            throw .invalidMultikey
        }
        try self.init(curve: curve, compressed: Array(raw.dropFirst(2)))
    }

    public init(didKey: String) throws(KeyError) {
        guard didKey.hasPrefix("did:key:") else { throw .invalidDidKey }
        do { try self.init(multikey: String(didKey.dropFirst(8))) } catch { throw .invalidDidKey }
    }

    /// Verifies a 64-byte compact low-S ECDSA signature over a SHA-256 digest.
    public func verify(signature: [UInt8], digest: [UInt8]) -> Bool {
        switch curve {
        case .secp256k1:
            var pub = secp256k1_pubkey()
            parsedK256!.withUnsafeBytes { src in
                withUnsafeMutableBytes(of: &pub.data) { $0.copyMemory(from: src) }
            }
            return Secp256k1.verify(signature: signature, digest: digest, publicKey: pub)
        case .p256:
            return P256.verify(signature: signature, digest: digest, publicKey: compressed)
        }
    }

    public func verify(signature: [UInt8], message: [UInt8]) -> Bool {
        verify(signature: signature, digest: SHA256.hash(message))
    }

    public static func == (a: PublicKey, b: PublicKey) -> Bool { a.curve == b.curve && a.compressed == b.compressed }
    public func hash(into h: inout Hasher) {
        h.combine(curve)
        h.combine(compressed)
    }
}
