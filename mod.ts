/**
 * remotemedia: real-time media pipelines for Deno and Bun, with the heavy lifting in Rust.
 *
 * This entry point re-exports the public API: {@link RuntimeData} and its audio helpers, pipelines
 * ({@link Pipeline}, {@link Session}, {@link PipelineBuilder}, {@link nodeTypes}) and the error classes.
 *
 * @example
 * ```ts
 * import { audioToFloat32, RuntimeData } from "@remotemedia/remotemedia";
 *
 * using audio = RuntimeData.audio({ samples: new Float32Array(960), sampleRate: 48000 });
 * console.log(audio.dataType(), audioToFloat32(audio).length); // "audio" 960
 * ```
 *
 * @module
 */
export {
  type Attributes,
  type AudioAllocInit,
  type AudioInit,
  AudioView,
  type DataType,
  formatOf,
  type PixelFormat,
  type ReadonlySamples,
  type SampleFormat,
  type Samples,
  type SamplesByFormat,
  type SamplesOf,
  type Tensor,
  type TensorDtype,
  type TensorElements,
  type TensorInit,
  type Video,
  type VideoInit,
  type WritableAudioView,
} from "./src/data_types.ts";
export { liveHandles, liveViews, RuntimeData } from "./src/runtime_data.ts";
export { closeLibrary, setLibraryPath } from "./ffi/load.ts";
export {
  audioFromFloat32,
  audioToFloat32,
  deinterleave,
  interleave,
  toFloat32,
  toInt16,
} from "./src/audio.ts";
export {
  ArgumentError,
  DataTypeError,
  DisposedError,
  type ErrorCode,
  type Issue,
  ManifestError,
  PipelineError,
  RemoteMediaError,
  ShapeError,
} from "./src/errors.ts";
export {
  type AudioFormatConstraint,
  type AudioSpec,
  type BuiltinNodeArgs,
  checkManifest,
  type Connection,
  convertManifest,
  type FormatOptions,
  type Insertion,
  type Manifest,
  type ManifestIssue,
  type ManifestReport,
  type NodeFormat,
  type NodeOptions,
  type NodeSpec,
  nodeTypes,
  PipelineBuilder,
  validateManifest,
} from "./src/manifest.ts";
export type { NodeTypeSchema, ParamSchema } from "./src/schemas.ts";
export { Session, type SessionOptions } from "./src/session.ts";
export type { SessionEntry } from "./src/session_io.ts";
export { setWorkerThreads, type WorkerPoolStats, workerThreads } from "./src/worker_pool.ts";
export type { NodeStats, SessionStats, Tracer, TraceSpan } from "./src/observability.ts";
export {
  LIMITS as REPORT_LIMITS,
  type ReportData,
  type ReportError,
  type ReportNode,
  type ReportSeries,
} from "./src/report/data.ts";
export type { NodeEventRecord, NodeMetrics, SessionEvent } from "./ffi/contract.ts";
export { Pipeline, run, session } from "./src/pipeline.ts";
export type { BuiltinNodeType, NodeParams } from "./src/node_types.ts";
export type {
  LevelEvent,
  MixMetadata,
  NodeEvent,
  SpeakingEvent,
  SpeechEndEvent,
  SpeechStartEvent,
  StreamHealthAlert,
  StreamHealthAlertEnd,
  StreamHealthEvent,
  StreamHealthKind,
  TurnDetectorEvent,
  TurnEndEvent,
  TurnStartEvent,
  VadEvent,
  WavWriterSummary,
} from "./src/events.ts";
export {
  type ByteSource,
  type FrameOptions,
  pcmFrames,
  type PcmLayout,
  wavFrames,
  wavStream,
} from "./src/streams.ts";
export {
  type InstanceOptions,
  isRegisteredNode,
  type Node,
  type NodeContext,
  type NodeFactory,
  type NodeResult,
  type NodeTypeOptions,
  type PortSpec,
  type RegisteredNodeType,
  registerNode,
  runNode,
  unregisterNode,
} from "./src/node.ts";
export { type RemoteMediaServer, serve, type ServeOptions } from "./src/serve/server.ts";
export { staticRoutes } from "./src/serve/static.ts";
export {
  type ClientMessage,
  CloseCode,
  type ConnectionCounts,
  decodeOutputFrame,
  encodeOutputFrame,
  OUTPUT_HEADER_BYTES,
  type OutputFrame,
  outputSamples,
  type ServerMessage,
  type StartMessage,
  type WireFormat,
} from "./src/serve/protocol.ts";
export { type Clock, systemClock, VirtualClock } from "./src/turn_taking/clock.ts";
export type { Listener } from "./src/turn_taking/listeners.ts";
export { Playout } from "./src/turn_taking/playout.ts";
export type {
  FrameInfo,
  InterruptedEvent,
  InterruptReport,
  PlayoutEvent,
  PlayoutOptions,
  PlayoutSink,
  ResumedEvent,
  ResumeReport,
  SinkErrorEvent,
  StaleDroppedEvent,
  UtteranceFinishedEvent,
  UtteranceProgress,
  UtteranceStartedEvent,
  UtteranceState,
} from "./src/turn_taking/playout_types.ts";
export {
  BargeIn,
  type BargeInEvent,
  type BargeInOptions,
  type BargeInResumedEvent,
  type FalseInterruptionEvent,
  type InterruptionEvent,
  type InterruptionIgnoredEvent,
  type UserTurnEvent,
} from "./src/turn_taking/barge_in.ts";
