import Foundation

/// Reads a Messages API answer into verdicts for exactly the flags that were asked about.
/// Whatever does not hold up goes to a human: an answer that does not parse, was cut off or
/// refused sends every asked flag to NEEDS_HUMAN; a flag the model skipped, gave conflicting or
/// unknown categories for, or cleared without a reason goes to NEEDS_HUMAN alone; verdicts for
/// URIs that were not asked about are ignored and reported.
enum VerdictParser {
    static let maxReason = 500

    struct Response: Decodable {
        struct Block: Decodable {
            var type: String
            var text: String?
            var name: String?
            var input: JSONValue?
        }
        var content: [Block]
        var stop_reason: String?
    }

    static func parse(_ body: [UInt8], asked: [String], analyzer: String) -> (verdicts: [Verdict], warnings: [String]) {
        func everyone(_ why: String) -> ([Verdict], [String]) {
            (asked.map { Verdict(uri: $0, category: .needsHuman, reason: why, analyzer: analyzer) },
             ["\(analyzer): \(why); \(asked.count) flag(s) sent to human review"])
        }
        guard let response = try? JSONDecoder().decode(Response.self, from: Data(body)) else {
            return everyone("the model's answer is not a Messages API response")
        }
        if let stop = response.stop_reason, stop == "max_tokens" || stop == "refusal" {
            return everyone("the model's answer ended with stop_reason \(stop)")
        }
        guard let input = answer(response) else {
            return everyone("the model's answer did not parse as the \(AnthropicPrompt.toolName) schema")
        }
        guard let items = input["verdicts"]?.array else {
            return everyone("the model's answer has no verdicts list")
        }

        let wanted = Set(asked)
        var warnings: [String] = []
        var found: [String: Verdict] = [:]
        var conflicted: Set<String> = []
        for (i, item) in items.enumerated() {
            guard let uri = item["uri"]?.string else {
                warnings.append("\(analyzer): verdict \(i) has no uri (ignored)")
                continue
            }
            guard wanted.contains(uri) else {
                warnings.append("\(analyzer): named a URI it was not asked about: \(uri) (ignored)")
                continue
            }
            let reason = (item["reason"]?.string ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
            let verdict: Verdict
            if let raw = item["category"]?.string, let category = Category(rawValue: raw) {
                if category == .falsePositive && reason.isEmpty {
                    verdict = Verdict(uri: uri, category: .needsHuman, reason: "the model cleared it without a reason", analyzer: analyzer)
                } else {
                    verdict = Verdict(uri: uri, category: category, reason: clip(reason.isEmpty ? "(no reason given)" : reason), analyzer: analyzer)
                }
            } else {
                let raw = item["category"]?.string ?? "none"
                verdict = Verdict(uri: uri, category: .needsHuman, reason: "the model answered an unknown category: \(clip(raw))", analyzer: analyzer)
            }
            if let earlier = found[uri], earlier.category != verdict.category {
                conflicted.insert(uri)
            } else if found[uri] == nil {
                found[uri] = verdict
            }
        }
        let verdicts = asked.map { uri -> Verdict in
            if conflicted.contains(uri) {
                return Verdict(uri: uri, category: .needsHuman, reason: "the model gave conflicting verdicts", analyzer: analyzer)
            }
            return found[uri] ?? Verdict(uri: uri, category: .needsHuman, reason: "the model gave no verdict for this flag", analyzer: analyzer)
        }
        let missing = asked.filter { found[$0] == nil }.count
        if missing > 0 { warnings.append("\(analyzer): gave no verdict for \(missing) flag(s); sent to human review") }
        if !conflicted.isEmpty { warnings.append("\(analyzer): conflicting verdicts for \(conflicted.count) flag(s); sent to human review") }
        return (verdicts, warnings)
    }

    /// The forced tool call's input; failing that, a text block holding the same JSON object.
    static func answer(_ r: Response) -> JSONValue? {
        if let tool = r.content.first(where: { $0.type == "tool_use" && $0.name == AnthropicPrompt.toolName }) {
            return tool.input
        }
        for block in r.content where block.type == "text" {
            var text = (block.text ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
            if text.hasPrefix("```") {
                text = String(text.drop(while: { $0 != "\n" })).trimmingCharacters(in: .whitespacesAndNewlines)
                if text.hasSuffix("```") { text = String(text.dropLast(3)) }
            }
            if let v = try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)), v["verdicts"] != nil { return v }
        }
        return nil
    }

    static func clip(_ s: String) -> String {
        let one = s.replacingOccurrences(of: "\n", with: " ")
        return one.count > maxReason ? String(one.prefix(maxReason)) + "…" : one
    }
}
