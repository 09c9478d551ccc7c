import Synchronization

/// The log's committed head, and a way to wait for it to move past a seq without polling.
public final class HeadSignal: Sendable {
    private struct State {
        var head: UInt64
        var nextId: Int = 0
        var waiters: [Int: (threshold: UInt64, continuation: CheckedContinuation<UInt64, Never>)] = [:]
        var cancelled: Set<Int> = []
        var shutDown = false
    }

    private let state: Mutex<State>

    public init(head: UInt64) { state = Mutex(State(head: head)) }

    public var current: UInt64 { state.withLock { $0.head } }

    /// Publishes a new committed head and wakes every waiter it satisfies.
    public func publish(_ head: UInt64) {
        advance(head).wake()
    }

    /// The waiters a head advance satisfied, to wake after more urgent work.
    public struct Wakeups: Sendable {
        let continuations: [CheckedContinuation<UInt64, Never>]
        let head: UInt64
        public func wake() { for c in continuations { c.resume(returning: head) } }
    }

    /// Moves the head (visible to `current` at once) and returns the waiters to wake.
    public func advance(_ head: UInt64) -> Wakeups {
        let ready = state.withLock { s -> [CheckedContinuation<UInt64, Never>] in
            guard head > s.head else { return [] }
            s.head = head
            var ready: [CheckedContinuation<UInt64, Never>] = []
            for (id, w) in s.waiters where w.threshold < head {
                ready.append(w.continuation)
                s.waiters[id] = nil
            }
            return ready
        }
        return Wakeups(continuations: ready, head: head)
    }

    /// Returns once the head is above `seq` (at once if it already is), or when the task is
    /// cancelled (returning the head as it is then).
    public func wait(forHeadAbove seq: UInt64) async -> UInt64 {
        let id = state.withLock { s -> Int in
            s.nextId += 1
            return s.nextId
        }
        // A cancellation that arrives after the wait was satisfied leaves its id behind: drop it.
        defer { state.withLock { _ = $0.cancelled.remove(id) } }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<UInt64, Never>) in
                let immediate = state.withLock { s -> UInt64? in
                    if s.head > seq || s.shutDown || s.cancelled.remove(id) != nil { return s.head }
                    s.waiters[id] = (seq, c)
                    return nil
                }
                if let immediate { c.resume(returning: immediate) }
            }
        } onCancel: {
            let waiter = state.withLock { s -> (CheckedContinuation<UInt64, Never>, UInt64)? in
                if let w = s.waiters.removeValue(forKey: id) { return (w.continuation, s.head) }
                s.cancelled.insert(id)
                return nil
            }
            if let (c, head) = waiter { c.resume(returning: head) }
        }
    }

    /// Wakes every waiter, and makes every later wait return at once (shutdown).
    public func shutdown() {
        state.withLock { $0.shutDown = true }
        wakeAll()
    }

    public var isShutDown: Bool { state.withLock { $0.shutDown } }

    /// Wakes every waiter (used at shutdown so streams can notice and close).
    public func wakeAll() {
        let all = state.withLock { s -> [(CheckedContinuation<UInt64, Never>, UInt64)] in
            let all = s.waiters.values.map { ($0.continuation, s.head) }
            s.waiters = [:]
            return all
        }
        for (c, h) in all { c.resume(returning: h) }
    }

}
