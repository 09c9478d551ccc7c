/// What the runner reports as it goes, for the terminal (the JSON report is built at the end).
public enum LoopEvent: Sendable {
    public enum Mark: Sendable {
        case ok, deleted, kept, resolved, falsePositive, violation, needsHuman, batch, notified, failed, info
    }

    /// A numbered step begins.
    case step(Int, String)
    /// Something happened to a flag (uri) or to the run (uri nil).
    case line(Mark, uri: String?, String)
    case warning(String)
}

public typealias LoopObserver = @Sendable (LoopEvent) -> Void
