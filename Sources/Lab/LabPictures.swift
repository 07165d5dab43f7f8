import Datasets
import Foundation
import Layers
import Reports
import Tensor

/// The lab's pictures as PNG bytes: filters, feature maps, samples and Grad-CAM overlays.
public enum LabPictures {
    /// First-layer filters (one tile per filter, channels averaged) and the feature maps of every
    /// conv layer for one image (up to 64 per layer), as PNG grids.
    public static func filtersAndFeatureMaps(_ model: Sequential, image: Dataset, runner: ParallelRunner) -> [(
        String, [UInt8]
    )] {
        var out: [(String, [UInt8])] = []
        let convs = model.layers.compactMap { $0 as? Conv2DLayer }
        if let first = convs.first {
            let g = first.geometry
            var tiles: [[Float]] = []
            for k in 0..<g.k {
                var t = [Float](repeating: 0, count: g.r * g.s)
                for r in 0..<g.r {
                    for s in 0..<g.s {
                        for c in 0..<g.c {
                            t[r * g.s + s] += first.kernel.value.data[((r * g.s + s) * g.c + c) * g.k + k]
                        }
                    }
                }
                tiles.append(t)
            }
            let grid = ImageGrid.grey(tiles: tiles, h: g.r, w: g.s, columns: 8, scale: 8)
            out.append(
                (
                    "filters-\(first.name)",
                    PNGEncoder.encode(width: grid.width, height: grid.height, channels: 1, pixels: grid.pixels)
                ))
        }
        // Feature maps are the convolutions' full outputs: no convolution-with-pooling kernel here.
        model.fuseReluIntoMaxPool(false)
        defer { model.fuseReluIntoMaxPool(true) }
        _ = model.forward(image.images, RunContext(runner: runner, training: false))
        for c in convs {
            guard let y = c.lastOutput else { continue }
            let (P, Q, K) = (c.outputShape[0], c.outputShape[1], c.outputShape[2])
            let n = min(64, K)
            let tiles = (0..<n).map { k in (0..<(P * Q)).map { y.data[$0 * K + k] } }
            let grid = ImageGrid.grey(tiles: tiles, h: P, w: Q, columns: 8, scale: max(1, 56 / max(P, Q)))
            out.append(
                (
                    "feature-maps-\(c.name)",
                    PNGEncoder.encode(width: grid.width, height: grid.height, channels: 1, pixels: grid.pixels)
                ))
        }
        return out
    }

    /// A test image (4x) with its Grad-CAM heatmap blended over it in a blue-to-red colour scale.
    public static func gradCAM(_ ds: Dataset, index: Int, heatmap: [Float]) -> [UInt8] {
        let s = ds.imageShape
        let (h, w, c) = (s[0], s[1], s[2])
        let scale = 4
        var px = [UInt8](repeating: 0, count: h * scale * w * scale * 3)
        let base = ds.images.data + index * h * w * c
        func jet(_ v: Float) -> (Float, Float, Float) {
            func ch(_ x: Float) -> Float { max(0, min(1, 1.5 - abs(x))) }
            return (ch(4 * v - 3), ch(4 * v - 2), ch(4 * v - 1))
        }
        for y in 0..<(h * scale) {
            for x in 0..<(w * scale) {
                let sy = y / scale, sx = x / scale
                let hv = heatmap[sy * w + sx]
                let (r, g, b) = jet(hv)
                for (ch, col) in [r, g, b].enumerated() {
                    let v = base[(sy * w + sx) * c + (c == 3 ? ch : 0)]
                    px[(y * w * scale + x) * 3 + ch] = UInt8(
                        max(0, min(255, ((0.55 * v + 0.45 * col) * 255).rounded())))
                }
            }
        }
        return PNGEncoder.encode(width: w * scale, height: h * scale, channels: 3, pixels: px)
    }

    /// One test image, enlarged 2x (grey or RGB).
    public static func sample(_ ds: Dataset, index: Int) -> [UInt8] {
        let s = ds.imageShape
        return EnlargedImage.png(
            ds.images.data + index * s[0] * s[1] * s[2], height: s[0], width: s[1], channels: s[2], scale: 2)
    }
}
