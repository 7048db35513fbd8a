import Foundation
import PardTestSupport
import Testing
@testable import PARAttributes

/// Choosing the set for a model: by head count, by name, by file.
@Suite struct ResolveTests {
    static let presets = PresetTests.presets

    @Test(arguments: [(26, "PA100k"), (14, "WIDER"), (40, "UPAR"), (51, "RAPV1"), (54, "RAPV2"), (53, "RAPzs")])
    func aUniqueCountPicksItsPreset(count: Int, name: String) throws {
        let set = try AttributeSet.resolve(nil, attributeCount: count, searchPaths: Self.presets)
        #expect(set.name == name && set.count == count)
    }

    @Test func thirtyFiveFitsPETAAndPETAzs() {
        #expect(throws: AttributeSetError.ambiguous(attributeCount: 35, candidates: ["PETA", "PETAzs"])) {
            try AttributeSet.resolve(nil, attributeCount: 35, searchPaths: Self.presets)
        }
        let message = AttributeSetError.ambiguous(attributeCount: 35, candidates: ["PETA", "PETAzs"]).description
        #expect(message.contains("35") && message.contains("PETA and PETAzs"))
    }

    @Test func aCountNoPresetHasIsAnError() {
        let error = #expect(throws: AttributeSetError.self) {
            try AttributeSet.resolve(nil, attributeCount: 7, searchPaths: Self.presets)
        }
        guard case .noPresetFits(let count, let presets)? = error else {
            Issue.record("expected noPresetFits, got \(String(describing: error))")
            return
        }
        #expect(count == 7)
        #expect(presets.first == "PA100k (26)" && presets.count == AttributeSet.presetNames.count)
        #expect(error?.description.contains("no attribute preset has 7 attributes") == true)
    }

    @Test func byName() throws {
        #expect(try AttributeSet.resolve("peta", attributeCount: 35, searchPaths: Self.presets).name == "PETA")
        #expect(try AttributeSet.resolve("PETAzs", attributeCount: 35, searchPaths: Self.presets).name == "PETAzs")
    }

    @Test func aNamedSetOfTheWrongSizeIsAnErrorNamingBothCounts() {
        #expect(throws: AttributeSetError.countMismatch(set: "PA100k", attributes: 26, heads: 35)) {
            try AttributeSet.resolve("PA100k", attributeCount: 35, searchPaths: Self.presets)
        }
        let message = AttributeSetError.countMismatch(set: "WIDER", attributes: 14, heads: 26).description
        #expect(message.contains("WIDER") && message.contains("14") && message.contains("26"))
    }

    @Test func anUnknownNameIsAnError() {
        let error = #expect(throws: AttributeSetError.self) {
            try AttributeSet.resolve("nope", attributeCount: 35, searchPaths: Self.presets)
        }
        guard case .presetNotFound(let name, let looked, _)? = error else {
            Issue.record("expected presetNotFound, got \(String(describing: error))")
            return
        }
        #expect(name == "nope" && looked == [Self.presets[0].appendingPathComponent("nope.json").path])
    }

    static let twoAttributes = #"{"name": "Two", "attributes": [{"name": "a", "sentence": "A"}, {"name": "b", "sentence": "B"}]}"#

    @Test func aJSONPathLoadsThatFile() throws {
        let tmp = try TemporaryDirectory("attr-resolve")
        let path = tmp.path("two.json")
        try Data(Self.twoAttributes.utf8).write(to: URL(fileURLWithPath: path))
        #expect(try AttributeSet.resolve(path, attributeCount: 2, searchPaths: Self.presets).name == "Two")
        #expect(throws: AttributeSetError.countMismatch(set: "Two", attributes: 2, heads: 26)) {
            try AttributeSet.resolve(path, attributeCount: 26, searchPaths: Self.presets)
        }
    }

    @Test func anExistingFileWithoutJSONExtensionLoadsThatFile() throws {
        let tmp = try TemporaryDirectory("attr-resolve")
        let path = tmp.path("my-set")
        try Data(Self.twoAttributes.utf8).write(to: URL(fileURLWithPath: path))
        #expect(AttributeSet.isFileArgument(path))
        #expect(try AttributeSet.resolve(path, attributeCount: 2, searchPaths: Self.presets).name == "Two")
    }

    @Test func aMissingJSONFileIsAnErrorNamingIt() {
        #expect(throws: AttributeSetError.unreadable(file: "/nonexistent/set.json", reason: "no such file")) {
            try AttributeSet.resolve("/nonexistent/set.json", attributeCount: 26, searchPaths: Self.presets)
        }
    }

    @Test func presetNamesAreNotFiles() {
        #expect(!AttributeSet.isFileArgument("PA100k"))
        #expect(!AttributeSet.isFileArgument("rapzs"))
        #expect(AttributeSet.isFileArgument("sets/mine"))
        #expect(AttributeSet.isFileArgument("mine.JSON"))
    }

    @Test func autoPickNeedsEveryPreset() throws {
        let tmp = try TemporaryDirectory("attr-partial")
        try FileManager.default.copyItem(at: Self.presets[0].appendingPathComponent("pa100k.json"),
                                         to: tmp.url.appendingPathComponent("pa100k.json"))
        let error = #expect(throws: AttributeSetError.self) {
            try AttributeSet.resolve(nil, attributeCount: 26, searchPaths: [tmp.url])
        }
        guard case .presetNotFound(let name, _, _)? = error else {
            Issue.record("expected presetNotFound, got \(String(describing: error))")
            return
        }
        #expect(name == "PETA")
    }
}
