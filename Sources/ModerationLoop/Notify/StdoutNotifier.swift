/// No notifier configured: the notice is part of the run's own output (in `--json` mode, the
/// `notification.text` field).
public struct StdoutNotifier: Notifier {
    public let destination = "standard output"
    let write: @Sendable (String) -> Void

    public init(write: @escaping @Sendable (String) -> Void) { self.write = write }

    public func send(_ notice: ReviewNotice) async throws(NotifyFailure) { write(notice.text) }
}
