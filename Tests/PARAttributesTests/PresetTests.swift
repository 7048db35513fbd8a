import Foundation
import PardTestSupport
import Testing
@testable import PARAttributes

/// The shipped presets in `configs/attributes`.
@Suite struct PresetTests {
    static let presets = [Fixtures.repositoryRoot.appendingPathComponent("configs/attributes")]

    /// The official sentence lists, by set name.
    static func sentenceLists() throws -> [String: [String]] {
        try JSONDecoder().decode([String: [String]].self, from: Data(contentsOf: Fixtures.url("attribute-sentences.json")))
    }

    @Test func thePresetsAreTheFixture_sSets() throws {
        #expect(Set(try Self.sentenceLists().keys) == Set(AttributeSet.presetNames))
    }

    @Test(arguments: AttributeSet.presetNames)
    func presetHasTheOfficialSentencesInOrder(name: String) throws {
        let set = try AttributeSet.preset(named: name, searchPaths: Self.presets)
        let expected = try #require(try Self.sentenceLists()[name])
        #expect(set.name == name)
        #expect(set.count == expected.count)
        #expect(set.sentences == expected)
        #expect(set.attributes.map(\.sentence) == expected)
    }

    @Test(arguments: AttributeSet.presetNames)
    func presetNamesAreUniqueSnakeCase(name: String) throws {
        let set = try AttributeSet.preset(named: name, searchPaths: Self.presets)
        #expect(Set(set.names).count == set.count)
        for n in set.names {
            #expect(n.range(of: "^[a-z][a-z0-9]*(_[a-z0-9]+)*$", options: .regularExpression) != nil, "\(n)")
        }
    }

    /// The files are in the canonical layout, so a diff of a preset shows only what changed.
    @Test(arguments: AttributeSet.presetNames)
    func presetFileIsInCanonicalLayout(name: String) throws {
        let url = Self.presets[0].appendingPathComponent(AttributeSet.presetFileName(name))
        let set = try AttributeSet(contentsOf: url)
        #expect(String(decoding: try Data(contentsOf: url), as: UTF8.self) == String(decoding: set.jsonData(), as: UTF8.self))
    }

    /// The groups the README documents.
    static let expectedGroups: [String: [String: [String]]] = [
        "PA100k": ["age": ["age_over_60", "age_18_to_60", "age_under_18"], "view": ["view_front", "view_side", "view_back"]],
        "PETA": ["age": ["age_under_30", "age_30_to_45", "age_45_to_60", "age_over_60"]],
        "PETAzs": ["age": ["age_under_30", "age_30_to_45", "age_45_to_60", "age_over_60"]],
        "RAPV1": ["age": ["age_under_16", "age_17_to_30", "age_31_to_45"], "body": ["body_fat", "body_normal", "body_thin"],
                  "role": ["customer", "clerk"]],
        "RAPV2": ["age": ["age_under_16", "age_17_to_30", "age_31_to_45", "age_46_to_60"],
                  "body": ["body_fat", "body_normal", "body_thin"], "role": ["customer", "employee"]],
        "RAPzs": ["age": ["age_under_16", "age_17_to_30", "age_31_to_45"], "body": ["body_fat", "body_normal", "body_thin"],
                  "role": ["customer", "employee"]],
        "WIDER": [:],
        "UPAR": ["age": ["age_young", "age_adult", "age_old"], "hair_length": ["hair_short", "hair_long", "bald"],
                 "lower_type": ["lower_trousers_shorts", "lower_skirt_dress"], "glasses_type": ["glasses", "sunglasses"]],
    ]

    @Test(arguments: AttributeSet.presetNames)
    func presetGroupsAreTheDocumentedOnes(name: String) throws {
        let set = try AttributeSet.preset(named: name, searchPaths: Self.presets)
        var groups: [String: [String]] = [:]
        for g in set.exclusiveGroups { groups[g.name] = g.members.map { set.names[$0] } }
        #expect(groups == Self.expectedGroups[name])
    }

    @Test func presetNamesAreCaseInsensitive() throws {
        for spelling in ["PA100k", "pa100k", "PA100K"] {
            #expect(try AttributeSet.preset(named: spelling, searchPaths: Self.presets).name == "PA100k")
        }
        #expect(try AttributeSet.preset(named: "rapzs", searchPaths: Self.presets).count == 53)
    }

    @Test func theFirstSearchPathWithThePresetWins() throws {
        let tmp = try TemporaryDirectory("attr-order")
        let json = #"{"name": "Mine", "attributes": [{"name": "a", "sentence": "s"}]}"#
        try Data(json.utf8).write(to: tmp.url.appendingPathComponent("pa100k.json"))
        #expect(try AttributeSet.preset(named: "PA100k", searchPaths: [tmp.url] + Self.presets).name == "Mine")
        #expect(try AttributeSet.preset(named: "PA100k", searchPaths: Self.presets + [tmp.url]).name == "PA100k")
    }

    @Test func aMissingPresetListsThePlacesLooked() {
        let dirs = [URL(fileURLWithPath: "/nonexistent/pard/a"), URL(fileURLWithPath: "/nonexistent/pard/b")]
        let looked = ["/nonexistent/pard/a/upar.json", "/nonexistent/pard/b/upar.json"]
        #expect(throws: AttributeSetError.presetNotFound(name: "UPAR", looked: looked, known: AttributeSet.presetNames)) {
            try AttributeSet.preset(named: "UPAR", searchPaths: dirs)
        }
        let message = AttributeSetError.presetNotFound(name: "UPAR", looked: looked, known: AttributeSet.presetNames).description
        #expect(message.contains("/nonexistent/pard/a/upar.json") && message.contains("/nonexistent/pard/b/upar.json"))
        #expect(!message.contains("\n"))
    }

    @Test func anUnknownPresetNameListsThePresets() {
        let error = #expect(throws: AttributeSetError.self) {
            try AttributeSet.preset(named: "market1501", searchPaths: Self.presets)
        }
        #expect(error?.description.contains("'market1501'") == true)
        #expect(error?.description.contains("PETAzs") == true)
    }

    @Test func aPresetNameIsNotAPath() {
        #expect(throws: AttributeSetError.presetNotFound(name: "../attributes/pa100k", looked: [], known: AttributeSet.presetNames)) {
            try AttributeSet.preset(named: "../attributes/pa100k", searchPaths: Self.presets)
        }
    }
}
