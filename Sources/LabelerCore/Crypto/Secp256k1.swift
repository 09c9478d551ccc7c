import CSecp256k1

/// The process-wide libsecp256k1 context (signing and verification are thread-safe on it).
final class Secp256k1Context: @unchecked Sendable {
    static let shared = Secp256k1Context()
    let ctx: OpaquePointer

    private init() {
        ctx = secp256k1_context_create(UInt32(SECP256K1_CONTEXT_NONE))!
        let seed = secureRandomBytes(32)
        _ = seed.withUnsafeBufferPointer { secp256k1_context_randomize(ctx, $0.baseAddress!) }
    }

    deinit { secp256k1_context_destroy(ctx) }
}

enum Secp256k1 {
    static var ctx: OpaquePointer { Secp256k1Context.shared.ctx }

    static func isValidSecret(_ secret: [UInt8]) -> Bool {
        secret.count == 32 && secret.withUnsafeBufferPointer { secp256k1_ec_seckey_verify(ctx, $0.baseAddress!) } == 1
    }

    static func publicKey(secret: [UInt8]) -> [UInt8] {
        var pub = secp256k1_pubkey()
        let ok = secret.withUnsafeBufferPointer { secp256k1_ec_pubkey_create(ctx, &pub, $0.baseAddress!) }
        precondition(ok == 1, "secp256k1: invalid secret key")
        return serialize(pub)
    }

    static func serialize(_ pub: secp256k1_pubkey) -> [UInt8] {
        var pub = pub
        var out = [UInt8](repeating: 0, count: 33)
        var len = 33
        _ = secp256k1_ec_pubkey_serialize(ctx, &out, &len, &pub, UInt32(SECP256K1_EC_COMPRESSED))
        return out
    }

    static func parse(compressed: [UInt8]) -> secp256k1_pubkey? {
        guard compressed.count == 33 else { return nil }
        var pub = secp256k1_pubkey()
        let ok = compressed.withUnsafeBufferPointer { secp256k1_ec_pubkey_parse(ctx, &pub, $0.baseAddress!, 33) }
        return ok == 1 ? pub : nil
    }

    /// Deterministic (RFC 6979) low-S compact signature over a 32-byte digest.
    static func sign(digest: [UInt8], secret: [UInt8]) -> [UInt8] {
        precondition(digest.count == 32)
        var sig = secp256k1_ecdsa_signature()
        let ok = digest.withUnsafeBufferPointer { d in
            secret.withUnsafeBufferPointer { s in
                secp256k1_ecdsa_sign(ctx, &sig, d.baseAddress!, s.baseAddress!, nil, nil)
            }
        }
        precondition(ok == 1, "secp256k1: signing failed")
        var out = [UInt8](repeating: 0, count: 64)
        _ = secp256k1_ecdsa_signature_serialize_compact(ctx, &out, &sig)
        return out
    }

    /// Verifies a 64-byte compact signature; high-S signatures are rejected by libsecp256k1.
    static func verify(signature: [UInt8], digest: [UInt8], publicKey: secp256k1_pubkey) -> Bool {
        guard signature.count == 64, digest.count == 32 else { return false }
        var sig = secp256k1_ecdsa_signature()
        guard signature.withUnsafeBufferPointer({ secp256k1_ecdsa_signature_parse_compact(ctx, &sig, $0.baseAddress!) }) == 1
        else { return false }
        var pub = publicKey
        return digest.withUnsafeBufferPointer { secp256k1_ecdsa_verify(ctx, &sig, $0.baseAddress!, &pub) } == 1
    }
}
