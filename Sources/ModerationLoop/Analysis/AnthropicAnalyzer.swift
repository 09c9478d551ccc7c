/// Claude over the Messages API (`POST {baseURL}/v1/messages`), asked for a fixed JSON shape
/// through a forced tool call; flags are sent in chunks, and each chunk's answer is checked by
/// `VerdictParser` (anything that does not hold up goes to a human).
public struct AnthropicAnalyzer: Analyzer {
    public let name: String
    let settings: LoopSettings.Anthropic
    let http: HTTPExchange

    public init(settings: LoopSettings.Anthropic, http: HTTPExchange) {
        self.settings = settings
        self.http = http
        name = settings.model
    }

    public func analyze(_ flags: [PendingFlag]) async -> (verdicts: [Verdict], warnings: [String]) {
        var verdicts: [Verdict] = []
        var warnings: [String] = []
        for start in stride(from: 0, to: flags.count, by: AnthropicPrompt.chunkSize) {
            let chunk = Array(flags[start..<min(start + AnthropicPrompt.chunkSize, flags.count)])
            let r = await analyzeChunk(chunk)
            verdicts += r.verdicts
            warnings += r.warnings
        }
        return (verdicts, warnings)
    }

    func analyzeChunk(_ flags: [PendingFlag]) async -> (verdicts: [Verdict], warnings: [String]) {
        let asked = flags.map(\.uri)
        func everyone(_ why: String) -> ([Verdict], [String]) {
            (asked.map { Verdict(uri: $0, category: .needsHuman, reason: why, analyzer: name) },
             ["\(name): \(why); \(asked.count) flag(s) sent to human review"])
        }
        let answer: HTTPAnswer
        do {
            answer = try await http.postJSON(
                join(settings.baseURL, "/v1/messages"), AnthropicPrompt.body(model: settings.model, flags: flags),
                headers: [("x-api-key", settings.apiKey), ("anthropic-version", "2023-06-01")])
        } catch {
            return everyone("the Anthropic API is \(error)")
        }
        guard answer.isSuccess else { return everyone("the Anthropic API answered \(answer.status): \(answer.detail)") }
        return VerdictParser.parse(answer.body, asked: asked, analyzer: name)
    }
}
