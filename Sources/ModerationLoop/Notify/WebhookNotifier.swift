/// `POST` a JSON body to `NOTIFY_WEBHOOK_URL`: `text` (as Slack and Discord-style hooks read it;
/// Discord wants `content`, sent too) plus the batch fields for anything smarter. Any 2xx is delivery.
public struct WebhookNotifier: Notifier {
    let url: String
    let http: HTTPExchange
    public var destination: String { "webhook \(url)" }

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
        do { answer = try await http.postJSON(url, body) } catch { throw NotifyFailure("webhook \(url) is \(error)") }
        guard answer.isSuccess else { throw NotifyFailure("webhook \(url) answered \(answer.status): \(answer.detail)") }
    }
}
