import Foundation
import COpenSSL

public enum SHA256 {
    /// The SHA-256 digest of `data` (32 bytes).
    public static func hash(_ data: some ContiguousBytes) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        data.withUnsafeBytes { buf in
            out.withUnsafeMutableBufferPointer { o in
                _ = COpenSSL.SHA256(buf.baseAddress?.assumingMemoryBound(to: UInt8.self), buf.count, o.baseAddress)
            }
        }
        return out
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
