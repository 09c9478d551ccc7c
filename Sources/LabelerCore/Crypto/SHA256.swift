import Foundation
import COpenSSL

/// OpenSSL's SHA-256 implementation, fetched once: the one-shot `SHA256()` looks it up in the
/// provider registry (under a lock) on every call, a visible cost when hashing a million events.
private final class SHA256Method: @unchecked Sendable {
    static let shared = SHA256Method()
    let md: OpaquePointer
    private init() { md = EVP_MD_fetch(nil, "SHA256", nil) }
}

public enum SHA256 {
    /// The SHA-256 digest of `data` (32 bytes).
    public static func hash(_ data: some ContiguousBytes) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: 32) { out, count in
            data.withUnsafeBytes { buf in
                let ok = EVP_Digest(buf.baseAddress, buf.count, out.baseAddress, nil, SHA256Method.shared.md, nil)
                precondition(ok == 1, "OpenSSL EVP_Digest(SHA-256) failed")
            }
            count = 32
        }
    }

    public static func hmac(key: [UInt8], _ message: [UInt8]) -> [UInt8] {
        var k = key.count > 64 ? hash(key) : key
        k += [UInt8](repeating: 0, count: 64 - k.count)
        let inner = hash(k.map { $0 ^ 0x36 } + message)
        return hash(k.map { $0 ^ 0x5c } + inner)
    }
}

/// Cryptographically secure random bytes from OpenSSL.
public func secureRandomBytes(_ count: Int) -> [UInt8] {
    var out = [UInt8](repeating: 0, count: count)
    let ok = out.withUnsafeMutableBufferPointer { RAND_bytes($0.baseAddress, Int32(count)) }
    precondition(ok == 1, "OpenSSL RAND_bytes failed")
    return out
}

/// SHA-256 over data that arrives in pieces (a download streamed to disk).
public final class SHA256Stream: @unchecked Sendable {
    private let ctx: OpaquePointer

    public init() {
        ctx = EVP_MD_CTX_new()!
        EVP_DigestInit_ex(ctx, EVP_sha256(), nil)
    }

    deinit { EVP_MD_CTX_free(ctx) }

    public func update(_ data: some ContiguousBytes) {
        data.withUnsafeBytes { buf in _ = EVP_DigestUpdate(ctx, buf.baseAddress, buf.count) }
    }

    /// The digest (32 bytes); call once.
    public func finish() -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        var n: UInt32 = 0
        out.withUnsafeMutableBufferPointer { o in _ = EVP_DigestFinal_ex(ctx, o.baseAddress, &n) }
        return out
    }
}

/// The CID of a blob as ATProto makes it: CIDv1, raw codec (0x55), SHA-256 multihash, base32
/// lower-case multibase (`bafkrei…`).
public func blobCID(sha256 digest: [UInt8]) -> String {
    "b" + Base32.encode([0x01, 0x55, 0x12, 0x20] + digest)
}
