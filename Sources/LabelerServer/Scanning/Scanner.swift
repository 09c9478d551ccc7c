import EventLog

/// A copyright scanner: sends one audio URL, with the sampling parameters of one pass, to a
/// fingerprinting provider and reports the songs it recognised, or why it could not tell.
public protocol Scanner: Sendable {
    /// Recorded in `ScanRecorded.provider` (e.g. `audd`).
    var provider: String { get }
    /// Throws `ScanFailure` when the provider gave no usable answer (a failed scan is never a
    /// clean one); any other error is treated the same way by the route.
    func scan(audioURL: String, params: AuddParams) async throws -> ScanOutcome
}

/// What a provider found in one audio file.
public struct ScanOutcome: Sendable {
    public var matches: [ScanMatch]
    /// The provider's JSON body, verbatim (echoed to the caller as `raw_response`).
    public var rawResponse: [UInt8]

    public init(matches: [ScanMatch], rawResponse: [UInt8]) {
        self.matches = matches
        self.rawResponse = rawResponse
    }
}

/// Why a scan produced no result. The message is recorded in the event and sent to the caller.
public struct ScanFailure: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        /// Connection refused, DNS, TLS, reset.
        case unreachable
        /// No complete answer within the configured timeout.
        case timeout
        /// An HTTP status other than 2xx.
        case httpStatus
        /// The labeler could not download the audio itself (size, time, HTTP status).
        case download
        /// The provider said `status: error` (bad token, unreadable audio, …).
        case providerError
        /// Not JSON, or JSON of an unexpected shape.
        case malformedResponse
    }

    public let kind: Kind
    public let message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}
