import Foundation
import Reports

public enum ReportWriter {
    /// Renders the four files into a temporary folder beside `dir`, then renames it into place,
    /// so an interrupted run leaves no half report.
    public static func write(_ r: ProfileReport, to dir: String) throws {
        let staging = try StagingFolder(finalDir: dir)
        try staging.write(try ReportRenderer.json(r), to: "report.json")
        try staging.write(ReportRenderer.csv(r), to: "report.csv")
        try staging.write(ReportRenderer.markdown(r), to: "report.md")
        try staging.write(HTMLRenderer.html(r), to: "report.html")
        try staging.commit()
    }
}
