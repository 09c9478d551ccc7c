import Foundation

/// A request body whose keys are all known. An unknown key — a typo such as `vall` for `val`, or
/// `uri` for `uris` — is refused with a 400 that names it, instead of being ignored and the
/// request carried out with a default (a copyright-violation label, a batch of every pending flag).
protocol StrictBody: Decodable {
    static var fields: Set<String> { get }
}

/// Decodes `T` after checking the object's keys against `T.fields`, in the same parse.
struct Strict<T: StrictBody>: Decodable {
    let value: T

    init(from decoder: any Decoder) throws {
        try Self.checkKeys(decoder, T.fields)
        value = try T(from: decoder)
    }

    /// Refuses an object with a key outside `fields` (for nested objects decoded in place).
    static func checkKeys(_ decoder: any Decoder, _ fields: Set<String>) throws {
        let keys = try decoder.container(keyedBy: AnyKey.self).allKeys
        if let unknown = keys.first(where: { !fields.contains($0.stringValue) }) {
            throw DecodingError.dataCorrupted(.init(
                codingPath: decoder.codingPath + [unknown],
                debugDescription: "unknown field (expected \(fields.sorted().joined(separator: ", ")))"))
        }
    }

    struct AnyKey: CodingKey {
        let stringValue: String
        let intValue: Int? = nil
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }
}
