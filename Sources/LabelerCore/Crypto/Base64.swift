import Foundation

public enum Base64 {
    /// Standard alphabet, no padding (the atproto `$bytes` convention).
    public static func encodeUnpadded(_ bytes: [UInt8]) -> String {
        var s = Data(bytes).base64EncodedString()
        while s.hasSuffix("=") { s.removeLast() }
        return s
    }

    /// Standard alphabet; padding optional.
    public static func decode(_ string: String) -> [UInt8]? {
        guard !string.contains("="), string.count % 4 != 1 else {
            if string.count % 4 == 0, let d = Data(base64Encoded: string) { return [UInt8](d) }
            return nil
        }
        let padded = string + String(repeating: "=", count: (4 - string.count % 4) % 4)
        return Data(base64Encoded: padded).map { [UInt8]($0) }
    }
}
