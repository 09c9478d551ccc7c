import COpenSSL

/// NIST P-256 ECDSA on OpenSSL's EC_POINT/BIGNUM primitives, with RFC 6979 deterministic nonces
/// (OpenSSL 3.0 has none) and low-S normalisation, so signatures are reproducible.
enum P256 {
    final class Group: @unchecked Sendable {
        static let shared = Group()
        let group: OpaquePointer
        let order: OpaquePointer
        let halfOrder: OpaquePointer

        private init() {
            group = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1)!
            order = BN_new()!
            halfOrder = BN_new()!
            EC_GROUP_get_order(group, order, nil)
            BN_rshift1(halfOrder, order)
        }

        deinit {
            BN_free(order)
            BN_free(halfOrder)
            EC_GROUP_free(group)
        }
    }

    /// Owns the temporaries of one operation.
    final class Scratch {
        let ctx = BN_CTX_new()!
        var bignums: [OpaquePointer] = []
        var points: [OpaquePointer] = []

        func bn(_ bytes: [UInt8]? = nil) -> OpaquePointer {
            let b = BN_new()!
            if let bytes { _ = bytes.withUnsafeBufferPointer { BN_bin2bn($0.baseAddress, Int32(bytes.count), b) } }
            bignums.append(b)
            return b
        }

        func point(_ group: OpaquePointer) -> OpaquePointer {
            let p = EC_POINT_new(group)!
            points.append(p)
            return p
        }

        deinit {
            for b in bignums { BN_clear_free(b) }
            for p in points { EC_POINT_free(p) }
            BN_CTX_free(ctx)
        }
    }

    static var g: Group { Group.shared }

    static func bytes32(_ bn: OpaquePointer) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        _ = out.withUnsafeMutableBufferPointer { BN_bn2binpad(bn, $0.baseAddress, 32) }
        return out
    }

    /// A valid private scalar: 0 < d < n.
    static func isValidSecret(_ secret: [UInt8]) -> Bool {
        guard secret.count == 32 else { return false }
        let s = Scratch()
        let d = s.bn(secret)
        return BN_is_zero(d) == 0 && BN_cmp(d, g.order) < 0
    }

    static func publicKey(secret: [UInt8]) -> [UInt8] {
        let s = Scratch()
        let d = s.bn(secret)
        let q = s.point(g.group)
        EC_POINT_mul(g.group, q, d, nil, nil, s.ctx)
        return compress(q, s)
    }

    static func compress(_ p: OpaquePointer, _ s: Scratch) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 33)
        let n = out.withUnsafeMutableBufferPointer {
            EC_POINT_point2oct(g.group, p, POINT_CONVERSION_COMPRESSED, $0.baseAddress, 33, s.ctx)
        }
        precondition(n == 33)
        return out
    }

    static func parse(compressed: [UInt8], _ s: Scratch) -> OpaquePointer? {
        guard compressed.count == 33, compressed[0] == 2 || compressed[0] == 3 else { return nil }
        let p = s.point(g.group)
        let ok = compressed.withUnsafeBufferPointer { EC_POINT_oct2point(g.group, p, $0.baseAddress, 33, s.ctx) }
        return ok == 1 ? p : nil
    }

    static func isValidPublicKey(_ compressed: [UInt8]) -> Bool {
        parse(compressed: compressed, Scratch()) != nil
    }

    /// RFC 6979 section 3.2 nonce for P-256 with HMAC-SHA-256 (qlen = hlen = 256).
    static func rfc6979Nonce(secret: [UInt8], digest: [UInt8], _ s: Scratch) -> OpaquePointer {
        let h = s.bn(digest)
        if BN_cmp(h, g.order) >= 0 { BN_sub(h, h, g.order) }
        let h1 = bytes32(h)
        var v = [UInt8](repeating: 1, count: 32)
        var k = [UInt8](repeating: 0, count: 32)
        k = SHA256.hmac(key: k, v + [0] + secret + h1)
        v = SHA256.hmac(key: k, v)
        k = SHA256.hmac(key: k, v + [1] + secret + h1)
        v = SHA256.hmac(key: k, v)
        while true {
            v = SHA256.hmac(key: k, v)
            let candidate = s.bn(v)
            if BN_is_zero(candidate) == 0 && BN_cmp(candidate, g.order) < 0 { return candidate }
            k = SHA256.hmac(key: k, v + [0])
            v = SHA256.hmac(key: k, v)
        }
    }

    static func sign(digest: [UInt8], secret: [UInt8]) -> [UInt8] {
        precondition(digest.count == 32)
        let s = Scratch()
        let d = s.bn(secret)
        let e = s.bn(digest)
        let k = rfc6979Nonce(secret: secret, digest: digest, s)
        let rPoint = s.point(g.group)
        EC_POINT_mul(g.group, rPoint, k, nil, nil, s.ctx)
        let x = s.bn(), r = s.bn(), kinv = s.bn(), rd = s.bn(), sum = s.bn(), sig = s.bn()
        EC_POINT_get_affine_coordinates(g.group, rPoint, x, nil, s.ctx)
        BN_nnmod(r, x, g.order, s.ctx)
        BN_mod_inverse(kinv, k, g.order, s.ctx)
        BN_mod_mul(rd, r, d, g.order, s.ctx)
        BN_mod_add(sum, e, rd, g.order, s.ctx)
        BN_mod_mul(sig, kinv, sum, g.order, s.ctx)
        precondition(BN_is_zero(r) == 0 && BN_is_zero(sig) == 0, "P-256: degenerate signature")
        if BN_cmp(sig, g.halfOrder) > 0 { BN_sub(sig, g.order, sig) }
        return bytes32(r) + bytes32(sig)
    }

    static func verify(signature: [UInt8], digest: [UInt8], publicKey: [UInt8]) -> Bool {
        guard signature.count == 64, digest.count == 32 else { return false }
        let s = Scratch()
        guard let q = parse(compressed: publicKey, s) else { return false }
        let r = s.bn(Array(signature[0..<32]))
        let sv = s.bn(Array(signature[32..<64]))
        for v in [r, sv] where BN_is_zero(v) != 0 || BN_cmp(v, g.order) >= 0 { return false }
        guard BN_cmp(sv, g.halfOrder) <= 0 else { return false }  // atproto requires low-S
        let e = s.bn(digest), w = s.bn(), u1 = s.bn(), u2 = s.bn(), x = s.bn(), xr = s.bn()
        BN_mod_inverse(w, sv, g.order, s.ctx)
        BN_mod_mul(u1, e, w, g.order, s.ctx)
        BN_mod_mul(u2, r, w, g.order, s.ctx)
        let point = s.point(g.group)
        guard EC_POINT_mul(g.group, point, u1, q, u2, s.ctx) == 1,
            EC_POINT_is_at_infinity(g.group, point) == 0,
            EC_POINT_get_affine_coordinates(g.group, point, x, nil, s.ctx) == 1
        else { return false }
        BN_nnmod(xr, x, g.order, s.ctx)
        return BN_cmp(xr, r) == 0
    }
}
