import Foundation
import PardTestSupport
import Testing
@testable import PARAttributes

/// Labels: attributes at or over the threshold, at most one per exclusive group.
@Suite struct LabelTests {
    @Test func pa100kKeepsOneAgeAndNoUncertainView() throws {
        let set = try AttributeSet.preset(named: "PA100k", searchPaths: PresetTests.presets)
        var p = [Float](repeating: 0.1, count: 26)
        p[0] = 0.9              // female
        p[1] = 0.6; p[2] = 0.8  // two ages over the threshold: only the likelier stays
        p[4] = 0.4; p[5] = 0.45 // no view over the threshold: none
        p[25] = 0.5             // boots, exactly at the threshold
        #expect(set.labelNames(probabilities: p, threshold: 0.5) == ["female", "age_18_to_60", "boots"])
        #expect(set.labels(probabilities: p, threshold: 0.5) == [0, 2, 25])
    }

    static func set() throws -> AttributeSet {
        try AttributeSet(name: "T", attributes: ["a", "b", "c", "d", "e"].map { .init(name: $0, sentence: $0.uppercased()) },
                         exclusiveGroups: [(name: "g", members: ["b", "c", "d"])])
    }

    @Test func ungroupedAttributesAreIndependent() throws {
        #expect(try Self.set().labelNames(probabilities: [0.7, 0.1, 0.1, 0.1, 0.7], threshold: 0.5) == ["a", "e"])
    }

    @Test func theMostProbableMemberWinsWhereverItIs() throws {
        let set = try Self.set()
        #expect(set.labelNames(probabilities: [0, 0.6, 0.7, 0.9, 0], threshold: 0.5) == ["d"])
        #expect(set.labelNames(probabilities: [0, 0.9, 0.7, 0.6, 0], threshold: 0.5) == ["b"])
        #expect(set.labelNames(probabilities: [0, 0.2, 0.55, 0.49, 0], threshold: 0.5) == ["c"])
    }

    @Test func aMemberUnderTheThresholdIsNoLabelEvenIfMostProbable() throws {
        #expect(try Self.set().labels(probabilities: [0, 0.3, 0.4, 0.2, 0], threshold: 0.5).isEmpty)
    }

    @Test func tiesGoToTheFirstListedMember() throws {
        #expect(try Self.set().labelNames(probabilities: [0, 0.8, 0.8, 0.8, 0], threshold: 0.5) == ["b"])
    }

    @Test func nanIsNeverALabelAndDoesNotHideOthers() throws {
        #expect(try Self.set().labelNames(probabilities: [.nan, .nan, 0.7, 0.6, 0.9], threshold: 0.5) == ["c", "e"])
    }

    @Test func shortOrLongProbabilityListsAreSafe() throws {
        let set = try Self.set()
        #expect(set.labelNames(probabilities: [0.9, 0.1, 0.9], threshold: 0.5) == ["a", "c"])
        #expect(set.labels(probabilities: [0.9, 0.1, 0.1, 0.1, 0.1, 0.9, 0.9], threshold: 0.5) == [0])
        #expect(set.labels(probabilities: [], threshold: 0.5).isEmpty)
    }
}
