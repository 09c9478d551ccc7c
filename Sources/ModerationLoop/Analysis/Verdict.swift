/// How a flag is triaged.
public enum Category: String, Sendable, Codable, CaseIterable {
    /// Resolved by the loop (the flag's label is negated).
    case falsePositive = "FALSE_POSITIVE"
    /// Clearly someone else's recording: a human confirms it in the review batch.
    case violation = "VIOLATION"
    /// Ambiguous: a human decides in the review batch.
    case needsHuman = "NEEDS_HUMAN"
}

/// One analyzer's decision about one flag, with the reason a human can audit.
public struct Verdict: Sendable, Equatable {
    public var uri: String
    public var category: Category
    public var reason: String
    /// Which analyzer decided ("rules", or the model name).
    public var analyzer: String
    /// The resolution reason sent to the labeler for a false positive.
    public var resolution: String?

    public init(uri: String, category: Category, reason: String, analyzer: String, resolution: String? = nil) {
        (self.uri, self.category, self.reason, self.analyzer) = (uri, category, reason, analyzer)
        self.resolution = category == .falsePositive ? (resolution ?? "fingerprint_noise") : nil
    }
}

/// Classifies flags. An analyzer may leave flags undecided (the rules do, when no rule is
/// certain); the next analyzer gets those. Flags no analyzer decides go to a human.
public protocol Analyzer: Sendable {
    var name: String { get }
    /// Verdicts for some or all of `flags`, and anything the run should hear about (a failed
    /// call, an answer that did not parse).
    func analyze(_ flags: [PendingFlag]) async -> (verdicts: [Verdict], warnings: [String])
}
