import Foundation

/// The atproto data model's JSON mapping: bytes as `{"$bytes": base64}`, links as `{"$link": …}`.
extension CBOR {
    /// A JSONSerialization-compatible object.
    public var jsonObject: Any {
        switch self {
        case .unsigned(let u): return NSNumber(value: u)
        case .negative(let n): return NSNumber(value: -1 - Int64(clamping: n))
        case .bytes(let b): return ["$bytes": Base64.encodeUnpadded(b)]
        case .text(let s): return s
        case .array(let a): return a.map(\.jsonObject)
        case .map(let m): return m.mapValues(\.jsonObject)
        case .bool(let b): return b
        case .null: return NSNull()
        case .link(let cid): return ["$link": "b" + Base32.encode(cid)]
        }
    }

    public struct JSONConversionError: Error, CustomStringConvertible {
        public let description: String
    }

    /// Converts parsed JSON back; numbers must be integers (no floats in atproto data).
    public init(jsonObject: Any) throws {
        switch jsonObject {
        case is NSNull: self = .null
        case let s as String: self = .text(s)
        case let n as NSNumber:
            switch String(cString: n.objCType) {
            case "c", "B": self = .bool(n.boolValue)
            case "Q": self = .unsigned(n.uint64Value)
            case "d", "f": throw JSONConversionError(description: "numbers must be integers, got \(n)")
            default: self = CBOR(Int(n.int64Value))
            }
        case let a as [Any]: self = .array(try a.map { try CBOR(jsonObject: $0) })
        case let m as [String: Any]:
            if m.count == 1, let b = m["$bytes"] as? String {
                guard let bytes = Base64.decode(b) else { throw JSONConversionError(description: "bad $bytes") }
                self = .bytes(bytes)
            } else if m.count == 1, let l = m["$link"] as? String, l.hasPrefix("b"), let raw = Base32.decode(String(l.dropFirst())) {
                self = .link(raw)
            } else {
                self = .map(try m.mapValues { try CBOR(jsonObject: $0) })
            }
        default: throw JSONConversionError(description: "unsupported JSON value \(type(of: jsonObject))")
        }
    }
}

/// RFC 4648 base32, lower case, no padding (multibase `b`, as CIDv1 strings use).
public enum Base32 {
    static let alphabet = Array("abcdefghijklmnopqrstuvwxyz234567".utf8)

    public static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        var buffer = 0, bits = 0
        for b in bytes {
            buffer = (buffer << 8) | Int(b)
            bits += 8
            while bits >= 5 {
                out.append(alphabet[(buffer >> (bits - 5)) & 31])
                bits -= 5
            }
        }
        if bits > 0 { out.append(alphabet[(buffer << (5 - bits)) & 31]) }
        return String(decoding: out, as: UTF8.self)
    }

    public static func decode(_ s: String) -> [UInt8]? {
        var out: [UInt8] = []
        var buffer = 0, bits = 0
        for c in s.lowercased().utf8 {
            guard let v = alphabet.firstIndex(of: c) else { return nil }
            buffer = (buffer << 5) | v
            bits += 5
            if bits >= 8 {
                out.append(UInt8((buffer >> (bits - 8)) & 0xff))
                bits -= 8
            }
        }
        return out
    }
}
