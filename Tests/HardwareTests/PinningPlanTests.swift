import Hardware
import XCTest

/// Pinning plans on a machine larger than this one, loaded as an hwloc synthetic topology:
/// 2 packages × 2 NUMA nodes × 16 cores × 2 SMT threads (64 cores, 128 PUs). Plans, not speed.
final class PinningPlanTests: XCTestCase {
    func bigMachine() throws -> (corePUs: [[Int]], numaPUs: [[Int]], topology: Topology) {
        let t = try HwlocTopology(synthetic: "package:2 numa:2 core:16 pu:2")
        let snap = t.snapshot()
        return (snap.corePUs, t.numaNodePUs(), snap)
    }

    func testSyntheticTopologyHasTheShapeAsked() throws {
        let m = try bigMachine()
        XCTAssertEqual(m.topology.packages, 2)
        XCTAssertEqual(m.topology.cores, 64)
        XCTAssertEqual(m.topology.processingUnits, 128)
        XCTAssertEqual(m.topology.numaNodes, 4)
        XCTAssertEqual(m.numaPUs.map(\.count), [32, 32, 32, 32])
        XCTAssertThrowsError(try HwlocTopology(synthetic: "no such thing:3"))
    }

    func testCompactFillsSiblingsFirstAndScatterOneWorkerPerCore() throws {
        let m = try bigMachine()
        let compact = PinningPlan.plan(.compact, workers: 4, corePUs: m.corePUs, numaPUs: m.numaPUs)
        XCTAssertEqual(compact.workers.map(\.pu), [m.corePUs[0][0], m.corePUs[0][1], m.corePUs[1][0], m.corePUs[1][1]])
        let scatter = PinningPlan.plan(.scatter, workers: 64, corePUs: m.corePUs, numaPUs: m.numaPUs)
        XCTAssertEqual(scatter.workers.map(\.pu), m.corePUs.map { $0[0] })  // every core once, no sibling
        XCTAssertEqual(Set(scatter.workers.map(\.pu)).count, 64)
        let full = PinningPlan.plan(.scatter, workers: 128, corePUs: m.corePUs, numaPUs: m.numaPUs)
        XCTAssertEqual(Set(full.workers.map(\.pu)).count, 128)
        XCTAssertEqual(Array(full.workers.map(\.pu)[64...]), m.corePUs.map { $0[1] })
    }

    func testOneWorkerGroupPerNUMANodeWithItsMemoryThere() throws {
        let m = try bigMachine()
        let p = PinningPlan.plan(.perNUMANode, workers: 64, corePUs: m.corePUs, numaPUs: m.numaPUs)
        XCTAssertEqual(p.groups.map(\.count), [16, 16, 16, 16])
        for (g, members) in p.groups.enumerated() {
            for w in members {
                XCTAssertTrue(m.numaPUs[g].contains(p.workers[w].pu), "worker \(w) of group \(g) is off its node")
                XCTAssertEqual(p.workers[w].numaNode, g)
            }
            // One worker per core within the node (no SMT sibling doubled up at 16 per node).
            let cores = Set(members.map { w in m.corePUs.firstIndex { $0.contains(p.workers[w].pu) }! })
            XCTAssertEqual(cores.count, 16)
        }
        // Four workers: one per node.
        let four = PinningPlan.plan(.perNUMANode, workers: 4, corePUs: m.corePUs, numaPUs: m.numaPUs)
        XCTAssertEqual(four.workers.map(\.numaNode), [0, 1, 2, 3])
    }
}
