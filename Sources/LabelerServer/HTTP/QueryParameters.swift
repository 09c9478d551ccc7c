import Hummingbird

extension Request {
    /// An optional integer query parameter: nil when absent, a 400 naming it when it is not an
    /// integer in `range`.
    func queryInt(_ name: String, in range: ClosedRange<Int>) throws -> Int? {
        guard let text = uri.queryParameters[Substring(name)] else { return nil }
        guard let n = Int(String(text)), range.contains(n) else {
            let bounds = range.upperBound == .max ? "≥ \(range.lowerBound)" : "from \(range.lowerBound) to \(range.upperBound)"
            throw XRPCError.invalidRequest("\(name) must be an integer \(bounds)")
        }
        return n
    }

    /// An optional seq (a non-negative integer) query parameter, such as a cursor.
    func querySeq(_ name: String) throws -> UInt64? {
        guard let text = uri.queryParameters[Substring(name)] else { return nil }
        guard let n = UInt64(String(text)) else { throw XRPCError.invalidRequest("\(name) must be a seq (a non-negative integer)") }
        return n
    }
}
