/** Record and replay: a session's exchanges to a HAR 1.2 file, and answers from one. */
export { Recorder, RECORDER_ORDER } from "./recorder.js";
export type { RecorderOptions } from "./recorder.js";
export { Replayer, REPLAYER_ORDER } from "./replayer.js";
export type { ReplayerOptions } from "./replayer.js";
export { ReplayNoMatchError, HarFormatError } from "./errors.js";
export { loadHar } from "./har.js";
export type { Har, HarEntry, HarRequest, HarResponse, HarContent, HarHeader, HarPostData } from "./har.js";
