/// The transform matrices of a Winograd minimal filtering algorithm F(m×m, 3×3)
/// (Lavin & Gray 2015): Y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A, input tile α×α with α = m + 2.
public struct WinogradTransform: Sendable {
    public let name: String
    public let m: Int
    public let alpha: Int
    /// Bᵀ (α×α), G (α×3), Aᵀ (m×α), row-major.
    public let BT: [[Float]]
    public let G: [[Float]]
    public let AT: [[Float]]

    /// Nonzero (column, coefficient) pairs of each row, so transforms skip zeros.
    public let btRows: [[(Int, Float)]]
    public let gRows: [[(Int, Float)]]
    public let atRows: [[(Int, Float)]]

    init(name: String, m: Int, BT: [[Float]], G: [[Float]], AT: [[Float]]) {
        self.name = name; self.m = m; alpha = m + 2
        self.BT = BT; self.G = G; self.AT = AT
        func sparse(_ a: [[Float]]) -> [[(Int, Float)]] {
            a.map { row in row.enumerated().filter { $0.element != 0 }.map { ($0.offset, $0.element) } }
        }
        btRows = sparse(BT); gRows = sparse(G); atRows = sparse(AT)
    }

    /// F(2x2,3x3): points 0, 1, -1 and ∞.
    public static let f2x3 = WinogradTransform(
        name: "F(2x2,3x3)", m: 2,
        BT: [[1, 0, -1, 0],
             [0, 1, 1, 0],
             [0, -1, 1, 0],
             [0, 1, 0, -1]],
        G: [[1, 0, 0],
            [0.5, 0.5, 0.5],
            [0.5, -0.5, 0.5],
            [0, 0, 1]],
        AT: [[1, 1, 1, 0],
             [0, 1, -1, -1]])

    /// F(4x4,3x3): points 0, ±1, ±2 and ∞.
    public static let f4x3 = WinogradTransform(
        name: "F(4x4,3x3)", m: 4,
        BT: [[4, 0, -5, 0, 1, 0],
             [0, -4, -4, 1, 1, 0],
             [0, 4, -4, -1, 1, 0],
             [0, -2, -1, 2, 1, 0],
             [0, 2, -1, -2, 1, 0],
             [0, 4, 0, -5, 0, 1]],
        G: [[1.0 / 4, 0, 0],
            [-1.0 / 6, -1.0 / 6, -1.0 / 6],
            [-1.0 / 6, 1.0 / 6, -1.0 / 6],
            [1.0 / 24, 1.0 / 12, 1.0 / 6],
            [1.0 / 24, -1.0 / 12, 1.0 / 6],
            [0, 0, 1]],
        AT: [[1, 1, 1, 1, 1, 0],
             [0, 1, -1, 2, -2, 0],
             [0, 1, 1, 4, 4, 0],
             [0, 1, -1, 8, -8, 1]])

    var nnzBT: Int { btRows.reduce(0) { $0 + $1.count } }
    var nnzG: Int { gRows.reduce(0) { $0 + $1.count } }
    var nnzAT: Int { atRows.reduce(0) { $0 + $1.count } }

    /// FLOPs of the input transform per (tile, channel): two passes of α·nnz(Bᵀ) terms.
    public var inputFLOPsPerTileChannel: Double { 2 * 2 * Double(alpha * nnzBT) }
    /// FLOPs of the output transform per (tile, filter): α·nnz(Aᵀ) + m·nnz(Aᵀ) terms.
    public var outputFLOPsPerTileFilter: Double { 2 * Double((alpha + m) * nnzAT) }
    /// FLOPs of the filter transform per (channel, filter).
    public var filterFLOPsPerChannelFilter: Double { 2 * Double((3 + alpha) * nnzG) }
}
