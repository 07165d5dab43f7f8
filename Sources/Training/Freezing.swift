import Layers

/// Keras's `trainable` for transfer learning: freeze a base, or unfreeze only its top N layers.
/// Frozen layers keep their weights, their batch-norm layers run in inference mode (moving
/// statistics), and the model's gradient flow stops below the lowest layer that trains, so a
/// frozen base costs only its forward pass.
public enum Freezing {
    /// Sets `trainable` on the layers named in `base`: all frozen (`unfreezeTop` 0), or all but
    /// the last `unfreezeTop` of them (Keras: `for l in base.layers[:-N]: l.trainable = False`).
    /// Layers outside the base (the head) are left trainable.
    public static func apply(_ model: Sequential, base: [String], unfreezeTop: Int) {
        let set = Set(base)
        let baseLayers = model.layers.filter { set.contains($0.name) }
        let firstTrainable = max(0, baseLayers.count - unfreezeTop)
        for (i, l) in baseLayers.enumerated() { l.trainable = i >= firstTrainable }
        for l in model.layers where !set.contains(l.name) { l.trainable = true }
        model.updateGradientFlow()
    }

    /// Copies parameter values of the layers named in `layers` between two models of the same
    /// architecture (the pre-trained base into a new model with another head).
    public static func copyWeights(from source: Sequential, to target: Sequential, layers: [String]) throws {
        var byName: [String: Layer] = [:]
        for l in source.layers { byName[l.name] = l }
        for l in target.layers where layers.contains(l.name) {
            guard let s = byName[l.name], s.parameters.count == l.parameters.count else {
                throw ProfileError("cannot copy weights of layer \(l.name): the source model has no such layer")
            }
            for (a, b) in zip(s.parameters, l.parameters) {
                guard a.value.shape == b.value.shape else {
                    throw ProfileError(
                        """
                        cannot copy weights of layer \(l.name): \(a.name) is \(a.value.shape) in the source, \
                        \(b.value.shape) here
                        """
                    )
                }
                b.value.data.update(from: a.value.data, count: a.value.count)
                b.version += 1
            }
        }
    }
}
