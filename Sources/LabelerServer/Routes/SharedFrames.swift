import NIOCore
import Synchronization

/// Encoded `#labels` frames of the newest labels, shared by every live subscriber: a label's frame
/// is the same bytes for all of them, so a thousand subscribers frame (and re-sign, after a key
/// rotation) each new label once instead of a thousand times. Backfills do not use it, so a replay
/// of old history cannot push the live tail out.
final class SharedFrames: Sendable {
    private struct State {
        var frames: [UInt64: ByteBuffer] = [:]
        var order = CircularBuffer<UInt64>()
    }
    private let state = Mutex(State())
    let capacity: Int

    init(capacity: Int = 8192) { self.capacity = capacity }

    func frame(_ seq: UInt64) -> ByteBuffer? { state.withLock { $0.frames[seq] } }

    func remember(_ seq: UInt64, _ frame: ByteBuffer) {
        state.withLock { s in
            guard s.frames.updateValue(frame, forKey: seq) == nil else { return }
            s.order.append(seq)
            if s.order.count > capacity { s.frames[s.order.removeFirst()] = nil }
        }
    }
}
