import Foundation
import PardVideo

extension ProcessJob {
    /// The decoding thread of `pard process`: every frame of the video, its detections matched by the
    /// `FrameMatcher` rule, each box admitted into the pool (waiting for a free slot; a frame's crops are
    /// pushed as one, or in parts where the frame has more boxes than the pool has slots), then the
    /// frame's end. Closes the pool when the video ends or fails.
    final class VideoReader: @unchecked Sendable {  // the decoding thread's own; `stop()` and the results are read after `join`
        let decoder: VideoDecoder
        let detections: Detections
        let options: ProcessOptions
        let pool: CropPool
        let matcher: FrameMatcher
        private var admission: BoxAdmission
        private(set) var framesDecoded = 0
        private(set) var boxesMatched = 0
        /// Why decoding stopped before the end (nil: the whole video).
        private(set) var failure: Error?
        private let stopSignal = StopSignal()
        /// Whether each frame's `.frameDone` carries the frame (the annotated video).
        private let annotate: Bool

        init(decoder: VideoDecoder, detections: Detections, options: ProcessOptions, imageSize: Int, pool: CropPool,
             keepPictures: Bool = false, annotate: Bool = false) {
            self.decoder = decoder
            self.detections = detections
            self.options = options
            self.pool = pool
            matcher = FrameMatcher(frameRate: decoder.frameRate)
            admission = BoxAdmission(imageSize: imageSize, resize: options.resize, trackInterval: options.trackInterval,
                                     trackTimeout: options.trackTimeout)
            admission.keepPictures = keepPictures
            self.annotate = annotate
        }

        /// Asks the thread to stop at its next frame.
        func stop() { stopSignal.stop() }

        func run() {
            defer { pool.close() }
            do {
                while !stopSignal.isStopped, let picture = try decoder.nextFrame() {
                    framesDecoded += 1
                    let position = FramePosition(stream: 0, frame: picture.number, pts: picture.pts)
                    let boxes = matcher.boxes(in: detections, for: position)
                    boxesMatched += boxes.count
                    var items: [WorkItem] = []
                    items.reserveCapacity(boxes.count + 1)
                    for (index, box) in boxes.enumerated() {
                        // A frame with more boxes than the pool has slots (3 x the batch): its crops so
                        // far go to the model before this one waits for a slot they will free.
                        if !items.isEmpty, !pool.hasFreeSlot {
                            pool.push(items)
                            items.removeAll(keepingCapacity: true)
                        }
                        let item = try admission.admit(box, in: picture, at: position, pool: pool)
                        if case .crop = item.kind, let dir = options.dumpCrops {
                            try admission.extractor.dumpPNG(to: URL(fileURLWithPath: dir).appendingPathComponent(
                                CropExtractor.dumpFileName(frame: picture.number, box: index)))
                        }
                        items.append(item)
                    }
                    items.append(.frameDone(stream: 0, frame: position.frame, pts: position.pts, picture: annotate ? picture : nil))
                    pool.push(items)
                }
            } catch {
                failure = error
            }
        }
    }
}
