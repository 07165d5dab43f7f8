import Kernels
import Layers
import Tensor

/// Grad-CAM (Selvaraju et al., 2017) for a sequential CNN: the feature maps A of the last
/// convolution weighted by α_k = mean over positions of ∂score/∂A_k, summed, ReLU'd,
/// normalised to [0, 1] and resized bilinearly to the image. The score is the class logit (the
/// softmax is fused into the loss, so the last layer's output is the logit). Runs the model in
/// inference mode; backward goes from the logits down to the last convolution's output only.
public enum GradCAM {
    public struct Map {
        /// The class explained (the predicted one unless given).
        public let predictedClass: Int
        /// H×W values in [0, 1], row-major.
        public let heatmap: [Float]
        /// The map at the convolution's resolution before ReLU and normalisation (P×Q).
        public let raw: [Float]
        public let height: Int, width: Int
        /// The convolution the map comes from.
        public let layer: String
    }

    public static func maps(_ model: Sequential, images: Tensor, classes: [Int]? = nil, runner: ParallelRunner) throws
        -> [Map]
    {
        guard model.isChain else { throw ProfileError("Grad-CAM supports sequential models; \(model.name) is a graph") }
        guard let c = model.layers.lastIndex(where: { $0 is Conv2DLayer || $0 is DepthwiseConv2DLayer }) else {
            throw ProfileError("Grad-CAM needs a convolution layer; \(model.name) has none")
        }
        let n = images.shape[0]
        let ctx = RunContext(runner: runner, training: false)
        // The pooling layer's fused ReLU gradient would stand in for the convolution's own: off,
        // so the gradient reaching A is ∂score/∂A itself.
        model.fuseReluIntoMaxPool(false)
        defer { model.fuseReluIntoMaxPool(true); model.updateGradientFlow() }
        var h = images
        var a: Tensor?
        for (i, l) in model.layers.enumerated() {
            h = l.forward(h, ctx)
            if i == c { a = h.copy() }
        }
        let logits = h
        let k = logits.count / n
        var cls = classes ?? []
        if classes == nil {
            for i in 0..<n {
                var best = 0
                for j in 1..<k where logits.data[i * k + j] > logits.data[i * k + best] { best = j }
                cls.append(best)
            }
        }
        guard cls.count == n, cls.allSatisfy({ $0 >= 0 && $0 < k }) else {
            throw ProfileError("Grad-CAM: \(n) images need \(n) classes in 0..<\(k)")
        }
        var d = try Tensor([n, k])
        for i in 0..<n { d.data[i * k + cls[i]] = 1 }
        for l in model.layers[(c + 1)...] { l.needsInputGradient = true }
        for l in model.layers[(c + 1)...].reversed() {
            guard let g = l.backward(d, ctx) else {
                throw ProfileError("Grad-CAM: layer \(l.name) gave no input gradient")
            }
            d = g
        }
        guard let A = a else { throw ProfileError("Grad-CAM: no feature maps") }
        let shape = model.layers[c].outputShape
        let (P, Q, K) = (shape[0], shape[1], shape[2])
        let (H, W) = (images.shape[1], images.shape[2])
        let resize = try ResizeBilinearLayer(name: "gradcam_resize", input: [P, Q, 1], height: H, width: W)
        var out: [Map] = []
        for i in 0..<n {
            var alpha = [Float](repeating: 0, count: K)
            for pq in 0..<(P * Q) { for kk in 0..<K { alpha[kk] += d.data[(i * P * Q + pq) * K + kk] } }
            for kk in 0..<K { alpha[kk] /= Float(P * Q) }
            var raw = [Float](repeating: 0, count: P * Q)
            for pq in 0..<(P * Q) {
                var s: Float = 0
                for kk in 0..<K { s += alpha[kk] * A.data[(i * P * Q + pq) * K + kk] }
                raw[pq] = s
            }
            let m = raw.map { max($0, 0) }.max() ?? 0
            let small = try Tensor(shape: TensorShape([1, P, Q, 1]), values: raw.map { m > 0 ? max($0, 0) / m : 0 })
            let big = resize.forward(small, ctx)
            out.append(
                Map(
                    predictedClass: cls[i], heatmap: big.array, raw: raw, height: H, width: W,
                    layer: model.layers[c].name))
        }
        return out
    }
}
