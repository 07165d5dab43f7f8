import Tensor

/// Activation memory shared by the layers of an inference forward. A layer's output takes a
/// free buffer from here and gives it back once every layer that reads it has run, so a model's
/// activations live in a few buffers that stay in cache instead of one cold buffer per layer
/// (MobileNetV2 at batch 1: 4.8 MB written by block_1_expand went to DRAM and back when each of
/// its 150 layers had its own). Sequential counts the readers; only layers that write every
/// element of their output take from here (a reused buffer holds the previous values).
public final class ActivationArena {
    private final class Slot {
        let storage: Tensor
        /// Layer outputs alive in this buffer, plus one while the layer that took it runs.
        var users = 0
        init(_ storage: Tensor) { self.storage = storage }
    }
    private var slots: [Slot] = []
    private var takenByRunningLayer: [Slot] = []

    public init() {}

    /// Bytes held across all buffers.
    public var bytes: Int { slots.reduce(0) { $0 + $1.storage.count * MemoryLayout<Float>.stride } }

    /// A buffer for an output of shape `dims`: the smallest free one that is large enough, else
    /// a new one of exactly that size. Reserved until the running layer ends.
    func take(_ dims: [Int]) -> Tensor {
        let n = dims.reduce(1, *)
        let slot =
            slots.lazy.filter { $0.users == 0 && $0.storage.count >= n }.min { $0.storage.count < $1.storage.count }
            ?? makeSlot(n)
        slot.users += 1
        takenByRunningLayer.append(slot)
        return try! slot.storage.leadingView(dims)
    }

    private func makeSlot(_ n: Int) -> Slot {
        let s = Slot(Tensor(shape: try! TensorShape([n]), zeroed: false))
        slots.append(s)
        return s
    }

    private func slot(holding t: Tensor) -> Slot? { slots.first { $0.storage.data == t.data } }

    /// Whether `t` lives in one of this arena's buffers.
    func holds(_ t: Tensor) -> Bool { slot(holding: t) != nil }

    /// A layer ended with output `t`: its buffer (if it is one of these) stays taken until
    /// `release(t)`; buffers the layer took but did not return are free again.
    func layerEnded(output t: Tensor) {
        slot(holding: t)?.users += 1
        for s in takenByRunningLayer { s.users -= 1 }
        takenByRunningLayer.removeAll(keepingCapacity: true)
    }

    /// The last reader of `t` has run.
    func release(_ t: Tensor) {
        guard let s = slot(holding: t) else { return }
        precondition(s.users > 0, "activation arena: a buffer released more often than taken")
        s.users -= 1
    }

    /// Every buffer free (the start of a forward).
    func reset() {
        for s in slots { s.users = 0 }
        takenByRunningLayer.removeAll(keepingCapacity: true)
    }
}
