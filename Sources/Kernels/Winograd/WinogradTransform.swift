import CKernels
import Tensor

/// The transform matrices of a Winograd minimal filtering algorithm F(m×m, r×r)
/// (Lavin & Gray 2015): Y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A, input tile α×α with α = m + r − 1.
public struct WinogradTransform: Sendable {
    public let name: String
    public let m: Int
    /// Filter size.
    public let r: Int
    public let alpha: Int
    /// Bᵀ (α×α), G (α×r), Aᵀ (m×α), row-major.
    public let BT: [[Float]]
    public let G: [[Float]]
    public let AT: [[Float]]

    /// Nonzero (column, coefficient) pairs of each row, so transforms skip zeros.
    public let btRows: [[(Int, Float)]]
    public let atRows: [[(Int, Float)]]
    /// G (α×r) and Gᵀ (r×α) flat, row-major: the two sides of the filter transform and of the
    /// weight gradient's Gᵀ·M·G (`twoSided`).
    public let gFlat: [Float]
    public let gtFlat: [Float]

    /// Which tile kernels run it: the C output kernels' variant number (`cnns_wino_output_tile_*`),
    /// and the Swift kernel `WinogradConv2D` and `WinogradWeightGradient` dispatch to.
    public let variant: Int32

    init(name: String, variant: Int32, m: Int, r: Int = 3, BT: [[Float]], G: [[Float]], AT: [[Float]]) {
        self.name = name; self.variant = variant; self.m = m; self.r = r; alpha = m + r - 1
        self.BT = BT; self.G = G; self.AT = AT
        func sparse(_ a: [[Float]]) -> [[(Int, Float)]] {
            a.map { row in row.enumerated().filter { $0.element != 0 }.map { ($0.offset, $0.element) } }
        }
        btRows = sparse(BT); atRows = sparse(AT)
        gFlat = G.flatMap { $0 }
        gtFlat = (0..<r).flatMap { j in G.map { $0[j] } }
    }

    /// F(2x2,3x3): points 0, 1, -1 and ∞.
    public static let f2x3 = WinogradTransform(
        name: "F(2x2,3x3)", variant: 0, m: 2,
        BT: [
            [1, 0, -1, 0],
            [0, 1, 1, 0],
            [0, -1, 1, 0],
            [0, 1, 0, -1],
        ],
        G: [
            [1, 0, 0],
            [0.5, 0.5, 0.5],
            [0.5, -0.5, 0.5],
            [0, 0, 1],
        ],
        AT: [
            [1, 1, 1, 0],
            [0, 1, -1, -1],
        ])

    /// F(4x4,3x3): points 0, ±1, ±2 and ∞.
    public static let f4x3 = WinogradTransform(
        name: "F(4x4,3x3)", variant: 1, m: 4,
        BT: [
            [4, 0, -5, 0, 1, 0],
            [0, -4, -4, 1, 1, 0],
            [0, 4, -4, -1, 1, 0],
            [0, -2, -1, 2, 1, 0],
            [0, 2, -1, -2, 1, 0],
            [0, 4, 0, -5, 0, 1],
        ],
        G: [
            [1.0 / 4, 0, 0],
            [-1.0 / 6, -1.0 / 6, -1.0 / 6],
            [-1.0 / 6, 1.0 / 6, -1.0 / 6],
            [1.0 / 24, 1.0 / 12, 1.0 / 6],
            [1.0 / 24, -1.0 / 12, 1.0 / 6],
            [0, 0, 1],
        ],
        AT: [
            [1, 1, 1, 1, 1, 0],
            [0, 1, -1, 2, -2, 0],
            [0, 1, 1, 4, 4, 0],
            [0, 1, -1, 8, -8, 1],
        ])

    /// F(2x2,5x5): the same six points as F(4x4,3x3), so the same Bᵀ; G row i is
    /// sᵢ·[1, pᵢ, pᵢ², pᵢ³, pᵢ⁴] with F(4,3)'s scales sᵢ = Π_{j≠i} 1/(pᵢ − pⱼ), the ∞ row
    /// picks the last tap; Aᵀ evaluates at the points (∞ feeds the last output).
    public static let f2x5 = WinogradTransform(
        name: "F(2x2,5x5)", variant: 2, m: 2, r: 5,
        BT: f4x3.BT,
        G: [
            [1.0 / 4, 0, 0, 0, 0],
            [-1.0 / 6, -1.0 / 6, -1.0 / 6, -1.0 / 6, -1.0 / 6],
            [-1.0 / 6, 1.0 / 6, -1.0 / 6, 1.0 / 6, -1.0 / 6],
            [1.0 / 24, 2.0 / 24, 4.0 / 24, 8.0 / 24, 16.0 / 24],
            [1.0 / 24, -2.0 / 24, 4.0 / 24, -8.0 / 24, 16.0 / 24],
            [0, 0, 0, 0, 1],
        ],
        AT: [
            [1, 1, 1, 1, 1, 0],
            [0, 1, -1, 2, -2, 1],
        ])

    /// F(3x3,2x2): F(2x2,3x3)'s points 0, 1, -1 and ∞, so its Bᵀ; G row i is sᵢ·[1, pᵢ] with the
    /// same scales (the ∞ row picks the last tap), Aᵀ evaluates at the points (∞ feeds the last
    /// output, negated as in F(2,3)'s Aᵀ). For 2x2 kernels ('same' pads the bottom and right).
    public static let f3x2 = WinogradTransform(
        name: "F(3x3,2x2)", variant: 3, m: 3, r: 2,
        BT: f2x3.BT,
        G: [
            [1, 0],
            [0.5, 0.5],
            [0.5, -0.5],
            [0, 1],
        ],
        AT: [
            [1, 1, 1, 0],
            [0, 1, -1, 0],
            [0, 1, 1, -1],
        ])

    /// F(4x4,5x5): α = 8 with points 0, ±1, ±2, ±1/2 and ∞ (those of F(6x6,3x3)), from the
    /// Toom-Cook construction: Aᵀ evaluates at the points (∞ feeds the last output), G row i is
    /// pᵢᵏ / Π_{j≠i}(pᵢ − pⱼ) (the ∞ row picks the last tap), and Bᵀ the matrix that makes
    /// Aᵀ[(G g) ⊙ (Bᵀ d)] the correlation. 2.25x fewer transform-domain products per output than
    /// F(2x2,5x5), but larger coefficients.
    public static let f4x5 = WinogradTransform(
        name: "F(4x4,5x5)", variant: 4, m: 4, r: 5,
        BT: [
            [-1, 0, 21.0 / 4, 0, -21.0 / 4, 0, 1, 0],
            [0, 1, 1, -17.0 / 4, -17.0 / 4, 1, 1, 0],
            [0, -1, 1, 17.0 / 4, -17.0 / 4, -1, 1, 0],
            [0, 1.0 / 2, 1.0 / 4, -5.0 / 2, -5.0 / 4, 2, 1, 0],
            [0, -1.0 / 2, 1.0 / 4, 5.0 / 2, -5.0 / 4, -2, 1, 0],
            [0, 2, 4, -5.0 / 2, -5, 1.0 / 2, 1, 0],
            [0, -2, 4, 5.0 / 2, -5, -1.0 / 2, 1, 0],
            [0, -1, 0, 21.0 / 4, 0, -21.0 / 4, 0, 1],
        ],
        G: [
            [-1, 0, 0, 0, 0],
            [-2.0 / 9, -2.0 / 9, -2.0 / 9, -2.0 / 9, -2.0 / 9],
            [-2.0 / 9, 2.0 / 9, -2.0 / 9, 2.0 / 9, -2.0 / 9],
            [1.0 / 90, 1.0 / 45, 2.0 / 45, 4.0 / 45, 8.0 / 45],
            [1.0 / 90, -1.0 / 45, 2.0 / 45, -4.0 / 45, 8.0 / 45],
            [32.0 / 45, 16.0 / 45, 8.0 / 45, 4.0 / 45, 2.0 / 45],
            [32.0 / 45, -16.0 / 45, 8.0 / 45, -4.0 / 45, 2.0 / 45],
            [0, 0, 0, 0, 1],
        ],
        AT: [
            [1, 1, 1, 1, 1, 1, 1, 0],
            [0, 1, -1, 2, -2, 1.0 / 2, -1.0 / 2, 0],
            [0, 1, 1, 4, 4, 1.0 / 4, 1.0 / 4, 0],
            [0, 1, -1, 8, -8, 1.0 / 8, -1.0 / 8, 1],
        ])

    /// Every transform, in variant order.
    public static let all: [WinogradTransform] = [f2x3, f4x3, f2x5, f3x2, f4x5]

    var nnzBT: Int { btRows.reduce(0) { $0 + $1.count } }
    var nnzG: Int { gFlat.filter { $0 != 0 }.count }
    var nnzAT: Int { atRows.reduce(0) { $0 + $1.count } }

    /// FLOPs of the input transform per (tile, channel): two passes of α·nnz(Bᵀ) terms.
    public var inputFLOPsPerTileChannel: Double { 2 * 2 * Double(alpha * nnzBT) }
    /// FLOPs of the output transform per (tile, filter): α·nnz(Aᵀ) + m·nnz(Aᵀ) terms.
    public var outputFLOPsPerTileFilter: Double { 2 * Double((alpha + m) * nnzAT) }
    /// FLOPs of the filter transform per (channel, filter).
    public var filterFLOPsPerChannelFilter: Double { 2 * Double((r + alpha) * nnzG) }

    // input (n, n, C, K), L: rows × n -> output (rows, rows, C, K)
    /// out[i][j][c][:] = Σ_{r,s} L[i][r] · in[r][s][c][:] · L[j][s], input channels split across
    /// workers: the filter transform G g Gᵀ (L = `gFlat`, rows α, n = r) and the weight gradient's
    /// Gᵀ M G (L = `gtFlat`, rows r, n = α). In C for the options' ISA (`cnns_winograd_two_sided_avx512`
    /// at 16 filters, `cnns_winograd_two_sided` at 8 under AVX2, else the plain reference); rows and n
    /// are at most 8 for every transform here.
    static func twoSided(
        _ L: [Float], rows: Int, n: Int, input: UnsafePointer<Float>, channels C: Int, filters K: Int,
        output: UnsafeMutablePointer<Float>, options: ConvOptions, runner: ParallelRunner
    ) {
        precondition(rows <= 8 && n <= 8 && L.count == rows * n, "Winograd transforms here have α ≤ 8")
        let kernel = options.byISA(
            avx512: cnns_winograd_two_sided_avx512, avx2: cnns_winograd_two_sided,
            scalar: cnns_winograd_two_sided_scalar)
        L.withUnsafeBufferPointer { l in
            let lp = l.baseAddress!
            runner.parallelRanges(C, work: C * K * rows * (n + rows) * 3) { _, channels in
                kernel(
                    Int32(rows), Int32(n), lp, input, Int32(C), Int32(K), Int32(channels.lowerBound),
                    Int32(channels.upperBound), output)
            }
        }
    }
}
