import Datasets
import Layers
import Tensor

/// Re-estimates the moving statistics of the batch-norm layers that trained, as the exact mean
/// of their batch statistics over `batches` training batches (a cumulative average: momentum
/// k/(k+1) at batch k), with no weight change. MobileNetV2's momentum of 0.999 leaves the moving
/// statistics near their initial values after a few hundred steps, so a short run evaluates
/// (in inference mode) with statistics that do not describe its activations; this is the
/// usual remedy (PyTorch's `update_bn`). Frozen layers keep their statistics.
public enum BatchNormRecalibration {
    /// Returns the number of layers recalibrated.
    @discardableResult
    public static func run(_ model: Sequential, data: Dataset, batches: Int, batchSize: Int, runner: ParallelRunner)
        -> Int
    {
        let layers = model.layers.compactMap { $0 as? BatchNormLayer }.filter(\.trainable)
        guard !layers.isEmpty, batches > 0, data.count > 0 else { return 0 }
        let saved = layers.map(\.momentum)
        defer { for (l, m) in zip(layers, saved) { l.momentum = m } }
        let ctx = RunContext(runner: runner, training: true, seed: 7)
        let observer = model.observer
        model.observer = nil
        defer { model.observer = observer }
        let n = min(batchSize, data.count)
        let x = try! Tensor([n] + data.imageShape, zeroed: false)
        let per = data.imageShape.reduce(1, *)
        let steps = min(batches, max(1, data.count / n))
        for k in 0..<steps {
            for l in layers { l.momentum = Float(k) / Float(k + 1) }
            for j in 0..<n {
                (x.data + j * per).update(from: data.images.data + ((k * n + j) % data.count) * per, count: per)
            }
            _ = model.forward(x, ctx)
        }
        return layers.count
    }
}
