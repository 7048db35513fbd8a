import Foundation
import PardTestSupport
import Testing
@testable import PARAttributes

@Suite struct AttributeSetTests {
    static let presets = [Fixtures.repositoryRoot.appendingPathComponent("configs/attributes")]

    @Test(arguments: AttributeSet.presetNames)
    func presetSentencesAreTheOfficialLists(name: String) throws {
        let set = try AttributeSet.preset(named: name, searchPaths: Self.presets)
        let lists = try JSONDecoder().decode([String: [String]].self, from: Data(contentsOf: Fixtures.url("attribute-sentences.json")))
        #expect(set.name == name)
        #expect(set.sentences == lists[name])
        #expect(Set(set.names).count == set.count)
        #expect(set.names.allSatisfy(AttributeSet.isFieldName))
    }

    @Test func resolveByCount() throws {
        #expect(try AttributeSet.resolve(nil, attributeCount: 26, searchPaths: Self.presets).name == "PA100k")
        #expect(try AttributeSet.resolve(nil, attributeCount: 14, searchPaths: Self.presets).name == "WIDER")
        #expect(throws: AttributeSetError.ambiguous(attributeCount: 35, candidates: ["PETA", "PETAzs"])) {
            try AttributeSet.resolve(nil, attributeCount: 35, searchPaths: Self.presets)
        }
        #expect(throws: AttributeSetError.ambiguous(attributeCount: 7, candidates: [])) {
            try AttributeSet.resolve(nil, attributeCount: 7, searchPaths: Self.presets)
        }
        #expect(try AttributeSet.resolve("peta", attributeCount: 35, searchPaths: Self.presets).name == "PETA")
        #expect(throws: AttributeSetError.countMismatch(set: "PA100k", attributes: 26, heads: 35)) {
            try AttributeSet.resolve("PA100k", attributeCount: 35, searchPaths: Self.presets)
        }
        #expect(throws: AttributeSetError.unknownPreset("nope", known: AttributeSet.presetNames)) {
            try AttributeSet.resolve("nope", attributeCount: 35, searchPaths: Self.presets)
        }
    }

    @Test func missingPresetListsWhereItLooked() {
        let dir = URL(fileURLWithPath: "/nonexistent/pard")
        #expect(throws: AttributeSetError.presetNotFound("UPAR", looked: ["/nonexistent/pard/upar.json"])) {
            try AttributeSet.preset(named: "UPAR", searchPaths: [dir])
        }
    }

    func parse(_ json: String) throws(AttributeSetError) -> AttributeSet {
        try AttributeSet(json: Data(json.utf8), source: "test.json")
    }

    @Test func malformedFilesNameTheKeyPath() {
        #expect(throws: AttributeSetError.invalid("test.json", "$.colour", "unknown key")) {
            try parse(#"{"name": "X", "attributes": [{"name": "a", "sentence": "s"}], "colour": 1}"#)
        }
        #expect(throws: AttributeSetError.invalid("test.json", "$.attributes[1].name", "duplicate attribute 'a'")) {
            try parse(#"{"name": "X", "attributes": [{"name": "a", "sentence": "s"}, {"name": "a", "sentence": "t"}]}"#)
        }
        #expect(throws: AttributeSetError.invalid("test.json", "$.exclusive_groups[0].members[1]", "'c' is not an attribute of this set")) {
            try parse(#"{"name": "X", "attributes": [{"name": "a", "sentence": "s"}, {"name": "b", "sentence": "t"}], "exclusive_groups": [{"name": "g", "members": ["a", "c"]}]}"#)
        }
        #expect(throws: AttributeSetError.invalid("test.json", "$.attributes[0].sentence", "expected a non-empty sentence")) {
            try parse(#"{"name": "X", "attributes": [{"name": "a", "sentence": " "}]}"#)
        }
        #expect(throws: AttributeSetError.invalid("test.json", "$.attributes[0].name", "expected a snake_case name (a-z, 0-9, _)")) {
            try parse(#"{"name": "X", "attributes": [{"name": "Big Hat", "sentence": "s"}]}"#)
        }
    }

    @Test func labelsKeepOnePerExclusiveGroup() throws {
        let set = try AttributeSet.preset(named: "PA100k", searchPaths: Self.presets)
        var p = [Float](repeating: 0.1, count: 26)
        p[0] = 0.9             // female
        p[1] = 0.6; p[2] = 0.8 // two ages over the threshold: only the likelier stays
        p[4] = 0.4; p[5] = 0.45 // no view over the threshold: none
        p[25] = 0.5            // boots, exactly at the threshold
        #expect(set.labels(probabilities: p, threshold: 0.5).map { set.names[$0] } == ["female", "age_18_to_60", "boots"])
    }

    @Test func jsonRoundTrip() throws {
        let set = try AttributeSet.preset(named: "RAPV2", searchPaths: Self.presets)
        #expect(try AttributeSet(json: set.jsonData(), source: "round trip") == set)
    }
}
