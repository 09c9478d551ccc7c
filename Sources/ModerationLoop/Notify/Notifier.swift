/// What a notification says: a review batch is waiting.
public struct ReviewNotice: Sendable, Equatable {
    public var env: LoopEnvironment
    public var batchId: String
    public var url: String
    public var flagCount: Int
    public var violations: Int
    public var needsHuman: Int
    /// Sent again by a later run: no notice of this batch is recorded as delivered (its first
    /// failed, or the batch predates the record: a batch still pending then gets one reminder).
    public var resent = false

    /// Short (a Bluesky DM holds 1000 characters): `[PLYR-MOD:PROD] 3 need review (1 violation, 2 unsure):\n<url>`.
    public var text: String {
        if resent { return "\(env.tag) \(flagCount) still need review (sent again: no delivered notice is recorded for this batch):\n\(url)" }
        var parts: [String] = []
        if violations > 0 { parts.append("\(violations) violation\(violations == 1 ? "" : "s")") }
        if needsHuman > 0 { parts.append("\(needsHuman) unsure") }
        return "\(env.tag) \(flagCount) need review (\(parts.joined(separator: ", "))):\n\(url)"
    }
}

/// Sends the notice somewhere a moderator will see it.
public protocol Notifier: Sendable {
    /// For the report: "Bluesky DM to @alice.bsky.social", "webhook https://…", "standard output".
    var destination: String { get }
    func send(_ notice: ReviewNotice) async throws(NotifyFailure)
}

public struct NotifyFailure: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ d: String) { description = d }
}
