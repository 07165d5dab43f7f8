/// Fine-tuning an imported model's classifier (an ONNX graph whose tail is Gemm or MatMul): every
/// layer before the trailing Dense layers is frozen (Keras `trainable = False`), and the last
/// Dense gets as many outputs as the data set has classes, with fresh weights where that count
/// differs from the imported one.
extension ModelProfile {
    /// The profile with its convolutional part frozen; throws when the graph does not end in a
    /// Dense classifier.
    public func freezingAllButClassifier() throws -> ModelProfile {
        guard let last = layers.lastIndex(where: { $0.type == .dense }), last == layers.count - 1 else {
            throw ProfileError(
                "\(source.isEmpty ? name : source): the model does not end in a Dense (Gemm or MatMul) classifier; "
                    + "nothing to fine-tune alone")
        }
        // The classifier: the trailing Dense layers and what lies between them (Dropout, activations).
        var first = last
        while first > 0, [.dense, .dropout, .activation, .relu].contains(layers[first - 1].type) { first -= 1 }
        var p = self
        for i in p.layers.indices { p.layers[i].trainable = i >= first }
        p.layers[last].units = 0  // the data set's class count (ModelTraining sets `classes`)
        return p
    }

    /// Drops the imported values of the last Dense layer when its output count changes.
    public func withClassifierSized(classes: Int) -> ModelProfile {
        guard let last = layers.last, last.type == .dense else { return self }
        var p = self
        if let bias = initialValues["\(last.name)/bias"], bias.count != classes {
            p.initialValues["\(last.name)/bias"] = nil
            p.initialValues["\(last.name)/kernel"] = nil
        }
        return p
    }
}
