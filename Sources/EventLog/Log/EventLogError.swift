/// Failures of the event log, as callers see them.
public enum EventLogError: Error, Sendable, CustomStringConvertible {
    /// Storage failed (disk full, I/O error); nothing of the failed batch was written.
    case storage(LMDBError)
    /// A stored event could not be decoded.
    case corruptEvent(UInt64, String)
    /// The log is closed (shutting down).
    case closed
    /// A command's precondition refused the batch; nothing was written.
    case rejected(any Error & Sendable)
    /// Another process is writing to this data directory.
    case locked(String, String)
    /// The stored log does not end where its writer last committed (cut off or altered).
    case damaged(String, String)

    public var description: String {
        switch self {
        case .storage(let e): "storage failure: \(e)"
        case .corruptEvent(let seq, let why): "event \(seq) is corrupt: \(why)"
        case .closed: "the event log is closed"
        case .rejected(let e): "\(e)"
        case .locked(let dir, let pid):
            "another labeler process\(pid.isEmpty ? "" : " (pid \(pid))") is writing to \(dir); stop it first"
        case .damaged(let dir, let why):
            "\(dir): \(why); nothing will be appended to it. `labeler replay verify` audits it; `labeler replay export` and `import` make a new data directory from the events that remain"
        }
    }

    public var isOutOfSpace: Bool {
        if case .storage(let e) = self { return e.isOutOfSpace }
        return false
    }
}
