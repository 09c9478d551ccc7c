import Foundation

/// The Anthropic Messages API. `.byTitle` reads the flags out of the prompt and answers through
/// the forced tool call, choosing each category from the track title's prefix (`fp-`, `viol-`,
/// anything else NEEDS_HUMAN); the other scripts answer badly in one specific way.
enum AnthropicScript: Sendable {
    case byTitle
    case text(String)
    case toolInput(String)
    case status(Int, String)

    static let key = "sk-ant-test"

    var handler: FakeServer.Handler {
        { r in
            guard r.method == "POST", r.path == "/v1/messages" else { return (404, #"{"type":"error"}"#) }
            guard r.headers["x-api-key"] == Self.key else {
                return (401, #"{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}"#)
            }
            switch self {
            case .status(let s, let body): return (s, body)
            case .text(let t): return (200, Self.message([["type": "text", "text": t]], stop: "end_turn"))
            case .toolInput(let raw):
                let block = #"{"type":"tool_use","id":"toolu_1","name":"record_verdicts","input":"# + raw + "}"
                return (200, #"{"id":"msg_1","type":"message","role":"assistant","model":"m","stop_reason":"tool_use","content":["# + block + "]}")
            case .byTitle:
                let verdicts = Self.flags(in: r).map { f -> [String: Any] in
                    let title = f["track_title"] as? String ?? ""
                    let category = title.hasPrefix("fp-") ? "FALSE_POSITIVE" : title.hasPrefix("viol-") ? "VIOLATION" : "NEEDS_HUMAN"
                    return ["uri": f["uri"]!, "category": category, "reason": "scripted: \(title)"]
                }
                let block: [String: Any] = ["type": "tool_use", "id": "toolu_1", "name": "record_verdicts", "input": ["verdicts": verdicts]]
                return (200, Self.message([block], stop: "tool_use"))
            }
        }
    }

    static func message(_ content: [[String: Any]], stop: String) -> String {
        json(["id": "msg_1", "type": "message", "role": "assistant", "model": "m", "stop_reason": stop, "content": content])
    }

    /// The flags the loop put between `<flags>` tags in the user message.
    static func flags(in r: Recorded) -> [[String: Any]] {
        guard let messages = r.json["messages"] as? [[String: Any]], let text = messages.first?["content"] as? String,
              let start = text.range(of: "<flags>\n"), let end = text.range(of: "\n</flags>")
        else { return [] }
        let data = Data(text[start.upperBound..<end.lowerBound].utf8)
        return (try? JSONSerialization.jsonObject(with: data) as? [[String: Any]]) ?? []
    }
}
