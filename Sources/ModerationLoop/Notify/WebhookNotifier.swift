import Foundation

/// `POST` a JSON body to `NOTIFY_WEBHOOK_URL`: `text` (as Slack and Discord-style hooks read it;
/// Discord wants `content`, sent too) plus the batch fields for anything smarter. Any 2xx is delivery.
public struct WebhookNotifier: Notifier {
    let url: String
    let http: HTTPExchange
    /// Only scheme and host: a Slack or Discord webhook URL is itself the credential (its path
    /// carries the token), so it never reaches the header, the `--json` report or an error.
    public var destination: String { "webhook \(Self.redacted(url))" }

    public init(url: String, http: HTTPExchange) {
        self.url = url
        self.http = http
    }

    struct Body: Encodable {
        var text: String
        var content: String
        var env: String
        var batch_id: String
        var batch_url: String
        var flag_count: Int
        var violations: Int
        var needs_human: Int
    }

    public func send(_ notice: ReviewNotice) async throws(NotifyFailure) {
        let body = Body(
            text: notice.text, content: notice.text, env: notice.env.rawValue, batch_id: notice.batchId, batch_url: notice.url,
            flag_count: notice.flagCount, violations: notice.violations, needs_human: notice.needsHuman)
        let answer: HTTPAnswer
        do { answer = try await http.postJSON(url, body) } catch { throw NotifyFailure("\(destination) is \(error)") }
        guard answer.isSuccess else { throw NotifyFailure("\(destination) answered \(answer.status): \(answer.detail)") }
    }

    /// `https://hooks.slack.com/services/T/B/secret` → `https://hooks.slack.com`: scheme, host
    /// and port; no user info, path, query or fragment.
    public static func redacted(_ url: String) -> String {
        guard let c = URLComponents(string: url), let scheme = c.scheme, let host = c.host, !host.isEmpty else { return "(URL hidden)" }
        let h = host.contains(":") ? "[\(host)]" : host
        return "\(scheme)://\(h)" + (c.port.map { ":\($0)" } ?? "")
    }
}
