import LabelerCore

/// What is wrong with a log, at the first seq where it goes wrong.
public struct ChainFault: Error, Sendable, Equatable, CustomStringConvertible {
    public let seq: UInt64
    public let reason: String
    public init(seq: UInt64, reason: String) {
        self.seq = seq
        self.reason = reason
    }
    public var description: String { "seq \(seq): \(reason)" }
}

/// Walks stored events in order and checks the structure an auditor relies on: seqs start at 1
/// and are contiguous, each key matches the envelope's seq, each envelope decodes strictly, and
/// each `prev` is the SHA-256 of the previous event's stored bytes.
public struct ChainCheck: Sendable {
    public private(set) var expectedSeq: UInt64 = 1
    public private(set) var lastHash: [UInt8] = EventEnvelope.genesisPrev

    public init() {}

    /// Checks the next stored event; returns its decoded envelope.
    public mutating func check(key: UInt64, bytes: [UInt8]) throws(ChainFault) -> EventEnvelope {
        guard key == expectedSeq else {
            throw ChainFault(seq: expectedSeq, reason: key > expectedSeq ? "missing (next stored is \(key))" : "out of order key \(key)")
        }
        let envelope: EventEnvelope
        do { envelope = try EventEnvelope.decode(bytes) } catch {
            throw ChainFault(seq: key, reason: "envelope does not decode: \(error)")
        }
        guard envelope.seq == key else {
            throw ChainFault(seq: key, reason: "stored under key \(key) but says seq \(envelope.seq)")
        }
        guard envelope.prev == lastHash else {
            throw ChainFault(seq: key, reason: "prev does not match the hash of event \(key - 1)")
        }
        lastHash = SHA256.hash(bytes)
        expectedSeq += 1
        return envelope
    }

    /// After the last event: the log must end where its head says.
    public func finish(head: UInt64?) throws(ChainFault) {
        if let head, expectedSeq - 1 != head {
            throw ChainFault(seq: expectedSeq, reason: "log ends at \(expectedSeq - 1) but head is \(head)")
        }
    }
}

extension EventLogReader {
    /// Checks the whole chain from seq 1; returns the number of events checked.
    @discardableResult
    public func checkChain(pageSize: Int = 10_000) throws -> UInt64 {
        var check = ChainCheck()
        var from: UInt64 = 1
        while true {
            let page = try readRaw(from: from, limit: pageSize)
            for (seq, bytes) in page { _ = try check.check(key: seq, bytes: bytes) }
            guard let last = page.last, page.count == pageSize else { break }
            from = last.0 + 1
        }
        return check.expectedSeq - 1
    }
}
