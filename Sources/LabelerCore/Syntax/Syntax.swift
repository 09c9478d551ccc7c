/// atproto string-format checks (spec: DID, handle, NSID, record key, AT-URI, datetime, CID).
/// Every entry point validates through these.
public enum Syntax {
    @inline(__always) static func isAlpha(_ c: UInt8) -> Bool { (c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a }
    @inline(__always) static func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }
    @inline(__always) static func isAlnum(_ c: UInt8) -> Bool { isAlpha(c) || isDigit(c) }
    @inline(__always) static func isHex(_ c: UInt8) -> Bool { isDigit(c) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x66) }

    /// `did:<method>:<identifier>`: lower-case method, identifier of `[A-Za-z0-9._:%-]` with valid
    /// `%XX` escapes, not ending in `:` or `%`, at most 2048 bytes.
    public static func isValidDID(_ s: String) -> Bool {
        let b = Array(s.utf8)
        guard b.count <= 2048, b.count > 4, b.starts(with: Array("did:".utf8)) else { return false }
        var i = 4
        let methodStart = i
        while i < b.count, b[i] >= 0x61, b[i] <= 0x7a { i += 1 }
        guard i > methodStart, i < b.count, b[i] == UInt8(ascii: ":") else { return false }
        i += 1
        guard i < b.count else { return false }
        while i < b.count {
            let c = b[i]
            if c == UInt8(ascii: "%") {
                guard i + 2 < b.count, isHex(b[i + 1]), isHex(b[i + 2]) else { return false }
                i += 3
                continue
            }
            guard isAlnum(c) || c == UInt8(ascii: ".") || c == UInt8(ascii: "_") || c == UInt8(ascii: ":")
                || c == UInt8(ascii: "-")
            else { return false }
            i += 1
        }
        return b.last != UInt8(ascii: ":")
    }

    /// A DNS-style handle: at least two labels, each 1–63 of `[A-Za-z0-9-]` not starting or ending
    /// with `-`, the last not starting with a digit, at most 253 bytes.
    public static func isValidHandle(_ s: String) -> Bool {
        let b = Array(s.utf8)
        guard !b.isEmpty, b.count <= 253 else { return false }
        let labels = b.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard labels.count >= 2 else { return false }
        for label in labels {
            guard (1...63).contains(label.count), isAlnum(label.first!), isAlnum(label.last!),
                label.allSatisfy({ isAlnum($0) || $0 == UInt8(ascii: "-") })
            else { return false }
        }
        return isAlpha(labels.last!.first!)
    }

    /// An NSID: a reversed domain authority (2+ segments) and a name segment, at most 317 bytes.
    public static func isValidNSID(_ s: String) -> Bool {
        let b = Array(s.utf8)
        guard b.count <= 317 else { return false }
        let segs = b.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard segs.count >= 3 else { return false }
        for (i, seg) in segs.enumerated() {
            guard (1...63).contains(seg.count) else { return false }
            if i == segs.count - 1 {
                guard isAlpha(seg.first!), seg.allSatisfy(isAlnum) else { return false }
            } else {
                guard isAlnum(seg.first!), isAlnum(seg.last!),
                    seg.allSatisfy({ isAlnum($0) || $0 == UInt8(ascii: "-") })
                else { return false }
                if i == 0, isDigit(seg.first!) { return false }
            }
        }
        return true
    }

    /// A record key: 1–512 of `[A-Za-z0-9._:~-]`, not `.` or `..`.
    public static func isValidRecordKey(_ s: String) -> Bool {
        let b = Array(s.utf8)
        guard (1...512).contains(b.count), s != ".", s != ".." else { return false }
        return b.allSatisfy {
            isAlnum($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ":")
                || $0 == UInt8(ascii: "~") || $0 == UInt8(ascii: "-")
        }
    }

    /// `at://<did or handle>[/<nsid>[/<rkey>]]`, at most 8 KiB, no query or fragment.
    public static func isValidATURI(_ s: String) -> Bool {
        guard s.utf8.count <= 8192, s.hasPrefix("at://") else { return false }
        let parts = s.dropFirst(5).split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard (1...3).contains(parts.count) else { return false }
        guard isValidDID(parts[0]) || isValidHandle(parts[0]) else { return false }
        if parts.count >= 2, !isValidNSID(parts[1]) { return false }
        if parts.count == 3, !isValidRecordKey(parts[2]) { return false }
        return true
    }

    /// The values clients act on: lower-case `a`–`z` and inner `-`, optionally after a `!`
    /// (global values such as `!hide`). Others are valid but clients such as Bluesky's ignore them.
    public static func isRecommendedLabelValue(_ s: String) -> Bool {
        var b = Substring(s).utf8[...]
        if b.first == UInt8(ascii: "!") { b = b.dropFirst() }
        guard let first = b.first, let last = b.last, first != UInt8(ascii: "-"), last != UInt8(ascii: "-") else { return false }
        return b.allSatisfy { ($0 >= 0x61 && $0 <= 0x7a) || $0 == UInt8(ascii: "-") }
    }

    /// A label subject: an AT-URI, or a bare DID for an account.
    public static func isValidSubject(_ s: String) -> Bool {
        s.hasPrefix("did:") ? isValidDID(s) : isValidATURI(s)
    }

    /// The loose CID string syntax of the spec: 8–256 of `[A-Za-z0-9+=]`.
    public static func isValidCID(_ s: String) -> Bool {
        let b = Array(s.utf8)
        guard (8...256).contains(b.count) else { return false }
        return b.allSatisfy { isAlnum($0) || $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: "=") }
    }

    /// A label value: 1–128 UTF-8 bytes, no white space, control characters or `,;'"`
    /// (which Ozone also refuses).
    public static func isValidLabelValue(_ s: String) -> Bool {
        let n = s.utf8.count
        guard n >= 1, n <= 128 else { return false }
        for scalar in s.unicodeScalars {
            if scalar.properties.isWhitespace || scalar.value < 0x20 || (0x7f...0x9f).contains(scalar.value) {
                return false
            }
            if ",;'\"".unicodeScalars.contains(scalar) { return false }
        }
        return true
    }

    /// An atproto datetime: RFC 3339 with upper-case `T`, whole seconds, optional fraction,
    /// `Z` or `±HH:MM` (not `-00:00`).
    public static func isValidDatetime(_ s: String) -> Bool { Datetime.parse(s) != nil }
}
