import Foundation

extension Label: Codable {
    enum CodingKeys: String, CodingKey { case ver, src, uri, cid, val, neg, cts, exp, sig }
    struct BytesBox: Codable { let bytes: String
        enum CodingKeys: String, CodingKey { case bytes = "$bytes" }
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        var sig: [UInt8]? = nil
        if let box = try c.decodeIfPresent(BytesBox.self, forKey: .sig) {
            guard let b = Base64.decode(box.bytes) else {
                throw DecodingError.dataCorruptedError(forKey: .sig, in: c, debugDescription: "sig.$bytes is not base64")
            }
            sig = b
        }
        self.init(
            ver: try c.decodeIfPresent(Int.self, forKey: .ver), src: try c.decode(String.self, forKey: .src),
            uri: try c.decode(String.self, forKey: .uri), cid: try c.decodeIfPresent(String.self, forKey: .cid),
            val: try c.decode(String.self, forKey: .val), neg: try c.decodeIfPresent(Bool.self, forKey: .neg),
            cts: try c.decode(String.self, forKey: .cts), exp: try c.decodeIfPresent(String.self, forKey: .exp),
            sig: sig)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(ver, forKey: .ver)
        try c.encode(src, forKey: .src)
        try c.encode(uri, forKey: .uri)
        try c.encodeIfPresent(cid, forKey: .cid)
        try c.encode(val, forKey: .val)
        try c.encodeIfPresent(neg, forKey: .neg)
        try c.encode(cts, forKey: .cts)
        try c.encodeIfPresent(exp, forKey: .exp)
        if let sig { try c.encode(BytesBox(bytes: Base64.encodeUnpadded(sig)), forKey: .sig) }
    }

    /// Appends the JSON form (`sig` as `{"$bytes": unpadded base64}`) without going through an encoder.
    public func writeJSON(into out: inout [UInt8]) {
        out.append(UInt8(ascii: "{"))
        var first = true
        func key(_ k: StaticString) {
            if !first { out.append(UInt8(ascii: ",")) }
            first = false
            out.append(UInt8(ascii: "\""))
            k.withUTF8Buffer { out.append(contentsOf: $0) }
            out.append(contentsOf: [UInt8(ascii: "\""), UInt8(ascii: ":")])
        }
        if let ver { key("ver"); out.append(contentsOf: String(ver).utf8) }
        key("src"); JSONText.write(src, into: &out)
        key("uri"); JSONText.write(uri, into: &out)
        if let cid { key("cid"); JSONText.write(cid, into: &out) }
        key("val"); JSONText.write(val, into: &out)
        if let neg { key("neg"); out.append(contentsOf: (neg ? "true" : "false").utf8) }
        key("cts"); JSONText.write(cts, into: &out)
        if let exp { key("exp"); JSONText.write(exp, into: &out) }
        if let sig {
            key("sig")
            out.append(contentsOf: "{\"$bytes\":\"".utf8)
            out.append(contentsOf: Base64.encodeUnpadded(sig).utf8)
            out.append(contentsOf: "\"}".utf8)
        }
        out.append(UInt8(ascii: "}"))
    }

    public var jsonString: String {
        var out: [UInt8] = []
        writeJSON(into: &out)
        return String(decoding: out, as: UTF8.self)
    }
}

/// JSON string escaping (RFC 8259): quotes, backslash and control characters; everything else raw UTF-8.
public enum JSONText {
    public static func write(_ s: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        let hex = Array("0123456789abcdef".utf8)
        for c in s.utf8 {
            switch c {
            case UInt8(ascii: "\""): out.append(contentsOf: [0x5c, 0x22])
            case UInt8(ascii: "\\"): out.append(contentsOf: [0x5c, 0x5c])
            case 0x0a: out.append(contentsOf: [0x5c, UInt8(ascii: "n")])
            case 0x0d: out.append(contentsOf: [0x5c, UInt8(ascii: "r")])
            case 0x09: out.append(contentsOf: [0x5c, UInt8(ascii: "t")])
            case 0..<0x20:
                out.append(contentsOf: [0x5c, UInt8(ascii: "u"), 0x30, 0x30, hex[Int(c >> 4)], hex[Int(c & 0xf)]])
            default: out.append(c)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
