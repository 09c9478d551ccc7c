import Foundation

/// JSON objects with a key given twice: parsers disagree on which one wins (Foundation's takes
/// the first, many take the last), so a body such as `{"val":"x","val":"y"}` could mean one thing
/// to a proxy that checked it and another to the labeler. Such bodies are refused.
enum DuplicateKeys {
    /// The first key found twice in one object of `bytes`, or nil. Invalid JSON is left for the
    /// decoder to report (nil, or whatever was found before the damage).
    static func first(in bytes: some Collection<UInt8>) -> String? {
        var objects: [Set<[UInt8]>?] = []  // per open container: an object's keys so far, nil for an array
        var expectKey = false
        var i = bytes.startIndex
        while i != bytes.endIndex {
            let c = bytes[i]
            switch c {
            case UInt8(ascii: "{"):
                objects.append([])
                expectKey = true
            case UInt8(ascii: "["):
                objects.append(nil)
                expectKey = false
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                if !objects.isEmpty { objects.removeLast() }
                expectKey = false
            case UInt8(ascii: ","):
                expectKey = objects.last.map { $0 != nil } ?? false
            case UInt8(ascii: "\""):
                var raw: [UInt8] = []
                var escaped = false
                var j = bytes.index(after: i)
                while j != bytes.endIndex {
                    let d = bytes[j]
                    if d == UInt8(ascii: "\\") { escaped = true }
                    if d == UInt8(ascii: "\"") && (raw.last != UInt8(ascii: "\\") || trailingBackslashesAreEven(raw)) { break }
                    raw.append(d)
                    j = bytes.index(after: j)
                }
                if expectKey, var keys = objects.last ?? nil {
                    let key = escaped ? unescaped(raw) : raw
                    if !keys.insert(key).inserted { return String(decoding: key, as: UTF8.self) }
                    objects[objects.count - 1] = keys
                    expectKey = false
                }
                guard j != bytes.endIndex else { return nil }
                i = j
            default: break
            }
            i = bytes.index(after: i)
        }
        return nil
    }

    /// Whether the backslashes ending `raw` pair up (so the quote after them closes the string).
    static func trailingBackslashesAreEven(_ raw: [UInt8]) -> Bool {
        var n = 0
        for b in raw.reversed() {
            guard b == UInt8(ascii: "\\") else { break }
            n += 1
        }
        return n % 2 == 0
    }

    /// A key with escapes, as the parser will see it (`"v\u0061l"` is `val`).
    static func unescaped(_ raw: [UInt8]) -> [UInt8] {
        let json = Data([UInt8(ascii: "[")] + [UInt8(ascii: "\"")] + raw + [UInt8(ascii: "\"")] + [UInt8(ascii: "]")])
        guard let array = try? JSONSerialization.jsonObject(with: json) as? [String], let s = array.first else { return raw }
        return Array(s.utf8)
    }
}
