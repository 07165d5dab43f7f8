/// One line of RFC 4180 CSV: cells joined by commas, each quoted when it holds a comma, a quote or
/// a line break (a quote inside is doubled). Every CSV the reports write goes through here, so a
/// label such as "FMA peak, avx2-fma 12x8" stays one cell.
public enum CSVRow {
    /// The cells as one line, without the line break.
    public static func line(_ cells: [String]) -> String {
        cells.map(field).joined(separator: ",")
    }

    /// One cell, quoted only when it needs to be.
    public static func field(_ s: String) -> String {
        s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" })
            ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
    }
}
