import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Which hosts the labeler's own download may reach: not loopback, link-local (cloud metadata at
/// 169.254.169.254), RFC 1918, CGNAT, ULA, multicast or unspecified addresses — checked after DNS
/// resolution (every address of the name) and again on every redirect hop. Tests, whose fake
/// servers listen on 127.0.0.1, turn it off with `SCAN_DOWNLOAD_ALLOW_PRIVATE=1`.
enum AddressPolicy {
    /// Throws when `host` is, or resolves to, an address the download must not reach.
    static func requirePublic(_ host: String) async throws(ScanFailure) {
        let name = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        let addresses: [String]
        do { addresses = try await resolve(name) } catch { throw ScanFailure(.download, "cannot resolve the audio host \(name): \(error)") }
        guard !addresses.isEmpty else { throw ScanFailure(.download, "cannot resolve the audio host \(name)") }
        if let bad = addresses.first(where: isPrivate) {
            throw ScanFailure(.download, "the audio host \(name) is a private or local address (\(bad)); set SCAN_DOWNLOAD_ALLOW_PRIVATE=1 to allow it")
        }
    }

    struct ResolveError: Error, CustomStringConvertible {
        let description: String
    }

    /// Every address `getaddrinfo` gives for the name, as text (runs off the cooperative pool).
    static func resolve(_ name: String) async throws -> [String] {
        try await withCheckedThrowingContinuation { (k: CheckedContinuation<[String], any Error>) in
            DispatchQueue.global().async {
                var hints = addrinfo()
                hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
                var list: UnsafeMutablePointer<addrinfo>?
                let rc = getaddrinfo(name, nil, &hints, &list)
                guard rc == 0 else {
                    k.resume(throwing: ResolveError(description: String(cString: gai_strerror(rc))))
                    return
                }
                defer { freeaddrinfo(list) }
                var out: [String] = []
                var p = list
                while let a = p {
                    var buf = [CChar](repeating: 0, count: Int(NI_MAXHOST))
                    if getnameinfo(a.pointee.ai_addr, a.pointee.ai_addrlen, &buf, socklen_t(buf.count), nil, 0, NI_NUMERICHOST) == 0 {
                        out.append(String(cString: buf))
                    }
                    p = a.pointee.ai_next
                }
                k.resume(returning: out)
            }
        }
    }

    /// Whether a numeric IPv4/IPv6 address is non-public.
    static func isPrivate(_ address: String) -> Bool {
        let text = address.split(separator: "%").first.map(String.init) ?? address  // fe80::1%eth0
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            return isPrivateV4(withUnsafeBytes(of: v4.s_addr) { Array($0) })
        }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, text, &v6) == 1 else { return true }  // unparseable: refuse
        let b = withUnsafeBytes(of: v6) { Array($0) }
        if b[0..<10].allSatisfy({ $0 == 0 }) && b[10] == 0xFF && b[11] == 0xFF { return isPrivateV4(Array(b[12..<16])) }  // ::ffff:a.b.c.d
        if b[0..<12].allSatisfy({ $0 == 0 }) { return true }  // ::, ::1, IPv4-compatible
        if b[0] & 0xFE == 0xFC { return true }  // fc00::/7 unique local
        if b[0] == 0xFE && b[1] & 0xC0 == 0x80 { return true }  // fe80::/10 link-local
        if b[0] == 0xFE && b[1] & 0xC0 == 0xC0 { return true }  // fec0::/10 site-local (deprecated)
        if b[0] == 0xFF { return true }  // multicast
        if b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xFF && b[3] == 0x9B { return isPrivateV4(Array(b[12..<16])) }  // 64:ff9b::/96 NAT64
        return false
    }

    static func isPrivateV4(_ b: [UInt8]) -> Bool {
        switch (b[0], b[1]) {
        case (0, _), (10, _), (127, _): true
        case (100, 64...127): true  // CGNAT
        case (169, 254): true  // link-local, cloud metadata
        case (172, 16...31): true
        case (192, 168): true
        case (192, 0) where b[2] == 0: true  // IETF protocol assignments
        case (198, 18...19): true  // benchmarking
        case (224...255, _): true  // multicast, reserved, broadcast
        default: false
        }
    }
}
