/// Something kept in step with the log inside the writer's transaction (the projections).
/// `apply` runs on the writer thread for each appended event in seq order, before the commit;
/// if it throws, the whole group is rolled back and its callers get the error.
public protocol LogObserver: AnyObject, Sendable {
    func apply(_ event: StoredEvent, _ decoded: LabelerEvent, in txn: LMDBTransaction) throws
    /// Called once per group commit, after the last `apply` and before the commit.
    func willCommit(head: UInt64, in txn: LMDBTransaction) throws
}

/// Reads a command's current state inside the writer's transaction and returns the events to
/// append, or throws to refuse (nothing is written). Runs on the writer thread: no awaiting.
public typealias AppendDecision = @Sendable (LMDBTransaction) throws -> [NewEvent]
