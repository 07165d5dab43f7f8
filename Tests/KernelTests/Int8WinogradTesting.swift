import CKernels
import Tensor
import XCTest

@testable import Kernels

/// What the integer Winograd tests share: the output pixels a 2x2 tile makes, and a layer of
/// random floats run through `Int8Conv2D` with or without its fused 2x2 max pooling.
enum Int8WinogradTesting {
    /// The output pixels (image, row, column) of tile `tile` in a grid of ty x tx tiles per image
    /// that lie inside the P x Q output, with the tile corner (0...3) each is.
    static func pixels(
        ofTile tile: Int, ty: Int, tx: Int, _ g: ConvGeometry
    ) -> [(corner: Int, index: Int)] {
        let image = tile / (ty * tx), i = tile % (ty * tx) / tx, j = tile % tx
        return (0..<4).compactMap { corner in
            let p = 2 * i + corner / 2, q = 2 * j + corner % 2
            guard p < g.p && q < g.q else { return nil }
            return (corner, (image * g.p + p) * g.q + q)
        }
    }

    /// The grid of 2x2 tiles per image of layer g (⌊P/2⌋ x ⌊Q/2⌋ when pooling, else ⌈P/2⌉ x ⌈Q/2⌉),
    /// the tiles in all, and the kernels' shape for its padded input (hp x wp, padding byte `pad`).
    static func tileGrid(_ g: ConvGeometry, hp: Int, wp: Int, pad: UInt8, pooled: Bool) -> (
        ty: Int, tx: Int, tiles: Int, shape: cnns_qwino_shape
    ) {
        let (ty, tx) = pooled ? (g.p / 2, g.q / 2) : ((g.p + 1) / 2, (g.q + 1) / 2)
        let shape = cnns_qwino_shape(
            c: Int32(g.c), k: Int32(g.k), hp: Int32(hp), wp: Int32(wp), tiles_y: Int32(ty), tiles_x: Int32(tx),
            pad: pad)
        return (ty, tx, g.n * ty * tx, shape)
    }

    /// A kernel's sums of tiles t0..<tiles, `per` each, computed in chunks of T tiles: `call(t, n, out)`
    /// computes the n tiles from t into out.
    static func chunked(
        tiles: Int, from t0: Int, by T: Int, per: Int, _ call: (Int, Int32, UnsafeMutablePointer<Int32>) -> Void
    ) -> [Int32] {
        var got = [Int32](repeating: -7, count: (tiles - t0) * per)
        var t = t0
        while t < tiles {
            let n = min(T, tiles - t)
            got.withUnsafeMutableBufferPointer { call(t, Int32(n), $0.baseAddress! + (t - t0) * per) }
            t += n
        }
        return got
    }

    /// Rounded sums (tiles from t0 of a ty x tx grid: four per tile, or with `pooled` their maximum)
    /// against the direct sums `want` of every output pixel: how many lie outside their column's
    /// `bound`, the largest error in units of its bound, and the squared errors and sums.
    static func errors(
        _ got: [Int32], want: [Int64], tiles: Int, from t0: Int, ty: Int, tx: Int, _ g: ConvGeometry, pooled: Bool,
        bound: [Double]
    ) -> (outside: Int, worst: Double, squaredError: Double, squaredSum: Double) {
        let K = g.k
        var outside = 0, worst = 0.0, squaredError = 0.0, squaredSum = 0.0
        for tile in t0..<tiles {
            let pixels = Self.pixels(ofTile: tile, ty: ty, tx: tx, g)
            for k in 0..<K {
                let corners = pixels.map { (corner: $0.corner, sum: want[$0.index * K + k]) }
                let pairs =
                    pooled
                    ? [(Int64(got[(tile - t0) * K + k]), corners.map(\.sum).max()!)]
                    : corners.map { (Int64(got[((tile - t0) * 4 + $0.corner) * K + k]), $0.sum) }
                for (value, sum) in pairs {
                    let e = Double(abs(value - sum))
                    if e > bound[k] { outside += 1 }
                    worst = max(worst, e / bound[k])
                    squaredError += e * e
                    squaredSum += Double(sum) * Double(sum)
                }
            }
        }
        return (outside, worst, squaredError, squaredSum)
    }

    /// A layer's float input (-1..3, quantised over that range), weights (±0.3) and bias (±0.1).
    struct RandomLayer {
        let x: [Float], w: [Float], b: [Float]
        let q = ActivationQuantization(min: -1, max: 3)
        init(_ g: ConvGeometry, _ rng: inout SeededGenerator) {
            x = (0..<(g.n * g.h * g.w * g.c)).map { _ in rng.nextFloat(low: -1, high: 3) }
            w = (0..<(g.r * g.s * g.c * g.k)).map { _ in rng.nextFloat(low: -0.3, high: 0.3) }
            b = (0..<g.k).map { _ in rng.nextFloat(low: -0.1, high: 0.1) }
        }
    }

    /// Inputs of 127 and 0 in a checkerboard of pixels (every channel alike): the input transforms'
    /// largest values.
    static func checkerboard(_ g: ConvGeometry) -> [UInt8] {
        (0..<(g.n * g.h * g.w * g.c)).map { i in
            let pixel = i / g.c
            return (pixel / g.w + pixel % g.w) % 2 == 0 ? 127 : 0
        }
    }

    /// Under each ISA cap, and without and with pooling: the Winograd layer of `layer` (checked to
    /// run Winograd) and its floats beside those of the `reference` path.
    /// `path`: the Winograd path to run (`.winogradU8` runs its 8-bit domain where the int8 GEMM is
    /// VNNI's or the scalar reference, else the exact 16-bit kernel).
    static func compareWinograd(
        _ g: ConvGeometry, _ layer: RandomLayer, against reference: Int8Conv2D.Path,
        path: Int8Conv2D.Path = .winograd, isas: [String] = ["scalar", "avx2", "avx512"],
        _ body: (_ isa: String, _ pooled: Bool, _ wino: Int8Conv2D, _ got: [Float], _ want: [Float]) -> Void
    ) {
        for isa in isas {
            let other = Int8Conv2D(
                geometry: g, weights: layer.w, bias: layer.b, input: layer.q, isa: isa, path: reference)
            let wino = Int8Conv2D(
                geometry: g, weights: layer.w, bias: layer.b, input: layer.q, isa: isa, path: path)
            XCTAssertTrue(wino.winograd && !wino.direct, "\(g) under \(isa)")
            let u8 = path == .winogradU8 && Int8Conv2D.runsWinogradU8(wino.gemmISA)
            XCTAssertEqual(wino.winogradU8, u8, "\(g) under \(isa)")
            XCTAssertTrue(wino.kernelName.hasSuffix(u8 ? " winograd-u8" : " winograd"), wino.kernelName)
            for pooled in poolings(g) {
                body(isa, pooled, wino, output(wino, layer.x, pooled: pooled), output(other, layer.x, pooled: pooled))
            }
        }
    }

    /// Without pooling, and with it where the output has a 2x2 window.
    static func poolings(_ g: ConvGeometry) -> [Bool] { g.p >= 2 && g.q >= 2 ? [false, true] : [false] }

    /// The layer's floats for input x (ReLU clamp), pooled or not, on two threads.
    static func output(_ conv: Int8Conv2D, _ x: [Float], pooled: Bool) -> [Float] {
        let g = conv.geometry
        let count = pooled ? g.n * (g.p / 2) * (g.q / 2) * g.k : g.n * g.p * g.q * g.k
        var out = [Float](repeating: .nan, count: count)
        let runner = TwoThreadRunner()
        x.withUnsafeBufferPointer { xb in
            out.withUnsafeMutableBufferPointer { o in
                if pooled {
                    conv.forwardPooled2x2(
                        input: xb.baseAddress!, batch: g.n, output: o.baseAddress!, runner: runner,
                        clamp: 0...Float.infinity)
                } else {
                    conv.forward(
                        input: xb.baseAddress!, batch: g.n, output: o.baseAddress!, runner: runner,
                        clamp: 0...Float.infinity)
                }
            }
        }
        return out
    }
}
