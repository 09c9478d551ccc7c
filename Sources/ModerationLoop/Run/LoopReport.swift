/// What happened to one flag.
public struct FlagOutcome: Sendable, Equatable {
    public enum Action: String, Sendable, Encodable {
        case resolved, wouldResolve = "would_resolve"
        case batched, wouldBatch = "would_batch"
        /// Batched meanwhile by another run of the loop (its batch, its notification).
        case batchedElsewhere = "batched_elsewhere"
        /// Not resolved and not in a batch because a step failed; still pending for the next run.
        case failed
    }

    public var uri: String
    public var trackId: Int64?
    public var track: TrackCheck?
    public var verdict: Verdict?
    public var action: Action?
    /// The resolution reason sent (or that would be) to the labeler.
    public var resolution: String?
    public var error: String?
}

/// One run, as `--json` prints it and the summary table shows it.
public struct LoopReport: Sendable {
    public struct Notification: Sendable, Equatable {
        public var destination: String
        public var text: String
        public var delivered: Bool
        public var error: String?
        /// The notice of an earlier run's batch, sent again (its first notice failed).
        public var resent = false
    }

    public var env: LoopEnvironment
    public var dryRun: Bool
    public var serviceURL: String
    public var trackAPI: String
    public var analyzers: [String]
    public var notifiers: [String]
    public var pending = 0
    /// Pending flags skipped because they already wait, undecided, in a pending review batch.
    public var awaitingReview = 0
    /// A pending flag this run did not touch, and why (another environment's track).
    public struct Skipped: Sendable, Equatable {
        public var uri: String
        public var reason: String
        public init(uri: String, reason: String) {
            self.uri = uri
            self.reason = reason
        }
    }
    /// Pending flags of another environment than `--env`: left for that environment's run.
    public var skipped: [Skipped] = []
    public var flags: [FlagOutcome] = []
    public var batch: LabelerAPI.Batch?
    public var batchURL: String?
    public var notifications: [Notification] = []
    public var warnings: [String] = []
    public var errors: [String] = []
    public var exitCode: Int32 = 0

    public func count(_ category: Category) -> Int { flags.filter { $0.verdict?.category == category }.count }
    public var deleted: Int { flags.filter { $0.resolution == "content_deleted" && $0.action != .failed }.count }
}

/// Exit codes of `labeler loop`.
public enum LoopExit {
    /// Done: every decided action was carried out (or, in a dry run, reported).
    public static let ok: Int32 = 0
    /// Done, but an action failed: a resolve, the batch, or the notification (the message says which).
    public static let actionFailed: Int32 = 1
    /// Missing or invalid settings: nothing ran.
    public static let settings: Int32 = 2
    /// The labeler could not be read (unreachable, wrong key): nothing changed.
    public static let labelerUnavailable: Int32 = 3
}
